"""Neural-network building blocks: ``Module``, ``Parameter``, containers, layers and initialisers.

    import tinygen.nn as nn
    net = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 10))

Names, weight shapes, defaults and state_dict keys follow PyTorch's ``torch.nn``.
"""
from . import init
from .layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Flatten, Identity, LeakyReLU,
                     Linear, ReLU, Sigmoid, Softplus, Tanh, Unflatten)
from .module import IncompatibleKeys, Module, ModuleList, Parameter, Sequential, StateDictError

__all__ = [
    "init", "Module", "Parameter", "Sequential", "ModuleList", "StateDictError", "IncompatibleKeys", "Linear",
    "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "Dropout", "ReLU", "LeakyReLU", "Sigmoid", "Tanh",
    "Softplus", "Flatten", "Unflatten", "Identity",
]
