"""tinygen: a small reverse-mode autograd framework on NumPy (CPU) and CuPy (GPU), and the classic
generative models (AE, VAE, GAN, WGAN, WGAN-GP) built on it.

    import tinygen as tg
    x = tg.randn(64, 784, requires_grad=True)
    w = tg.randn(784, 400, requires_grad=True)
    (x @ w).tanh().sum().backward()        # x.grad, w.grad
"""
from . import backend
from ._threads import get_num_threads, set_num_threads
from .backend import DeviceError, DType, cuda_available, get_default_device, manual_seed, set_default_device
from .backend import bool_, float32, float64, int32, int64, uint8
from .tensor import ShapeError, Tensor
from .autograd import (AnomalyError, Function, backward, detect_anomaly, enable_grad, grad, is_grad_enabled,
                       no_grad, set_grad_enabled)
from . import ops
from .ops import (abs, cat, clip, concat, exp, flatten, leaky_relu, linear, log, logsumexp, matmul, max, maximum,
                  mean, min, minimum, pad, permute, relu, reshape, sigmoid, softplus, sqrt, squeeze, stack, std,
                  sum, tanh, transpose, unsqueeze, var, where, argmax, argmin, broadcast_to)
from .creation import (arange, as_tensor, eye, full, full_like, get_default_dtype, linspace, ones, ones_like, rand,
                       rand_like, randn, randn_like, set_default_dtype, tensor, zeros, zeros_like)
from .gradcheck import GradcheckError, as_function_of_params, gradcheck, gradgradcheck
from . import functional, nn, optim, viz
from .serialization import CheckpointError, CheckpointNotFoundError, load, save

__version__ = "0.1.0"
