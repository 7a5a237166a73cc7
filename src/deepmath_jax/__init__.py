"""deepmath_jax — the book *Deep Math* (Bodin & Recher) as tested JAX/Flax code.

The subpackages follow the book's parts; the engine stands on them, the experiments on both::

    calculus     ch01, 03, 07  derivative, newton, activations, multivariable, search, gradient
    autodiff     ch01, 07      graph (hand-written AD), graph_drawing, smile, backprop
    neurons      ch05, 06, 09  perceptron, realisable, universal, dense, hebb, learning
    optim        ch08          descent, schedules
    convolution  ch11–13       conv1d, conv2d, layer, pooling, image_filters, template_matching
    probability  ch15–16       tensors, distributions, losses, normalization, dropout
    language     ch17–18       corpus, bpe, embedding, attention, gpt, gpt2_checkpoint, …
    engine       ch10, 14      models, data, train, parallel, checkpoint
    kernels                    compiled CPU convolution kernels (used by the engine)
    book                       the experiment harness of ``experiments/``

``import deepmath_jax`` is cheap: each subpackage and module is imported on first use
(``deepmath_jax.calculus.newton``), or directly (``from deepmath_jax.autodiff import smile``).
"""

from importlib import metadata as _metadata

from deepmath_jax._lazy import attach as _attach

try:
    __version__ = _metadata.version("deepmath_jax")
except _metadata.PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0+unknown"

__getattr__, __dir__, _subpackages = _attach(
    __name__,
    [
        "autodiff",
        "book",
        "calculus",
        "convolution",
        "engine",
        "kernels",
        "language",
        "neurons",
        "optim",
        "probability",
    ],
)
__all__ = ["__version__", *_subpackages]
