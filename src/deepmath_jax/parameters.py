"""The number of parameters of a network — chapters 5, 10, 11, 14 and 18 count the weights
(*poids*) of their networks: "130 394 poids" (ch. 14), 124 million for GPT-2 (ch. 18).

:func:`count_parameters` is the one counter of the package: it counts a built network, whatever
its form (a Flax NNX module, a pytree of arrays such as the pure-JAX layers of chapters 5–9).
The book's closed-form formulas for those counts (``num_weights_…`` in the chapters' modules)
are tested against it.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

__all__ = ["count_parameters"]


def count_parameters(network: Any) -> int:
    """The number of trainable numbers in ``network``.

    Args:
      network: a Flax NNX module (its ``nnx.Param`` variables are counted: not batch
        statistics, RNG states or other variables), or any pytree whose leaves are arrays
        (every element of every array leaf is counted; other leaves — activation names,
        Python numbers such as sizes — are not).

    Returns:
      The total number of scalars, as a Python int.
    """
    from flax import nnx  # flax only when a module may be given; pytrees need jax alone

    if isinstance(network, nnx.Module):
        leaves = jax.tree.leaves(nnx.state(network, nnx.Param))
    else:
        leaves = jax.tree.leaves(network)
    return sum(math.prod(np.shape(leaf)) for leaf in leaves if _is_array(leaf))


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))
