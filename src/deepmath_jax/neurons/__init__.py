"""Neurons and networks — chapters 5 *Réseau de neurones* (Neural network), 6 *Python :
tensorflow avec keras, partie 1* (Keras part 1) and 9 *Rétropropagation* (Backpropagation):
perceptrons, what a network can realise, universal approximation, hand-set dense networks,
Hebb's rule, learning the weights.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "dense",
        "hebb",
        "learning",
        "perceptron",
        "realisable",
        "universal",
    ],
)
