"""The training engine — chapters 10 *Python : tensorflow avec keras, partie 2* and 14
*Convolution avec tensorflow/keras*, in Flax NNX: layers and models, data pipelines
(tensorflow-datasets), compiled and data-parallel training, checkpoints.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "checkpoint",
        "data",
        "models",
        "parallel",
        "train",
    ],
)
