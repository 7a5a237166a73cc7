"""deepmath_jax — the book *Deep Math* (Bodin & Recher) as tested JAX/Flax code.

The package is organised by concept (``derivative``, ``graph``, ``newton``, ``smile``,
``descent``, ``convolution``, …); each module names the book chapter it comes from.
Importing the package is cheap: submodules are imported on demand.
"""

__version__ = "0.1.0"
