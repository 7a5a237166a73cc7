"""Convolution — chapters 11 *Convolution : une dimension* (one dimension), 12 *Convolution*
(two dimensions) and 13 *Convolution avec Python*: 1-D and 2-D convolutions, the convolution
layer and its gradient, pooling, image filters, template matching and their figures.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "conv1d",
        "conv2d",
        "image_filters",
        "layer",
        "plots",
        "pooling",
        "template_matching",
    ],
)
