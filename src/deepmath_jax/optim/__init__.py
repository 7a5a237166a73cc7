"""Optimisation — chapter 8 *Descente de gradient* (Gradient descent): the book's descents as
optax transformations, and step-size schedules.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "descent",
        "schedules",
    ],
)
