"""Automatic differentiation by hand — chapter 1 §2 (the computational graph) and chapter 7
*Gradient* §3–4 (the *formule du sourire*, backpropagation), each beside ``jax.grad``.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "backprop",
        "graph",
        "graph_drawing",
        "smile",
    ],
)
