"""Every primitive op of tinygen, and the functions that apply them.

One class per op (a :class:`~tinygen.autograd.Function`): ``forward`` on arrays, ``backward`` on Tensors,
the derivative in the docstring. :data:`tinygen.autograd.REGISTRY` lists them all; the test suite checks
every registered op's first and second derivatives against finite differences.
"""
from . import activation, augment, conv, elementwise, indexing, linalg, loss, reduce, shape  # noqa: F401  (registers the ops)
from .activation import leaky_relu, relu, sigmoid, softplus, tanh
from .augment import cutout, diff_augment, translate
from .elementwise import (abs, add, cast, clip, compare, copy, div, exp, isfinite, log, maximum, minimum, mul, neg,
                          pow, sqrt, sub, to_device, where)
from .conv import conv2d, conv2d_weight, conv_transpose2d
from .indexing import getitem, setitem_
from .linalg import linear, matmul
from .loss import binary_cross_entropy_with_logits
from .reduce import all, any, argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .shape import (broadcast_to, cat, concat, flatten, pad, permute, reshape, squeeze, stack, transpose, unflatten,
                    unsqueeze)

__all__ = [
    "abs", "add", "all", "any", "argmax", "argmin", "binary_cross_entropy_with_logits", "broadcast_to", "cast", "cat",
    "clip", "compare", "concat", "conv2d", "conv2d_weight", "conv_transpose2d",
    "copy", "cutout", "diff_augment", "div", "exp", "flatten", "getitem", "isfinite", "leaky_relu", "linear", "log", "logsumexp", "matmul",
    "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pad", "permute", "pow", "relu", "reshape",
    "setitem_", "sigmoid", "softplus", "sqrt", "squeeze", "stack", "std", "sub", "sum", "tanh", "to_device",
    "translate", "transpose", "unflatten", "unsqueeze", "var", "where",
]
