"""Tensors and probability — chapters 15 *Tenseurs* (Tensors) and 16 *Probabilités*
(Probabilities): softmax and the Gaussian law, losses, normalisation, dropout.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "distributions",
        "dropout",
        "losses",
        "normalization",
        "tensors",
    ],
)
