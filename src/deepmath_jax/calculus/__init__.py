"""Calculus — chapters 1 *Dérivée* (Derivative), 3 *Fonctions de plusieurs variables*
(Functions of several variables) and 7 *Gradient*: derivatives and Newton's method, the
activation functions and their derivatives, functions of two variables, minimum searches,
partial derivatives and gradients.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "activations",
        "derivative",
        "gradient",
        "multivariable",
        "newton",
        "search",
    ],
)
