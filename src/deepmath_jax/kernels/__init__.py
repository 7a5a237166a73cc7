"""Compiled CPU kernels for the engine's convolution layers (an optional acceleration).
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "build",
        "conv_layer_forward",
        "conv_weight_gradient",
        "onednn_convolution",
    ],
)
