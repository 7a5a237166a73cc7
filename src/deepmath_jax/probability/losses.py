"""Loss functions — chapter 16 *Probabilités* (Probabilities), §2 *Fonctions d'erreur*
(Error functions), book lines 8083–8168.

With N data y_i and predictions ỹ_i = F(x_i):

- mean squared error E = (1/N) Σ (y_i − ỹ_i)² (L8092–8098);
- mean absolute error E = (1/N) Σ |y_i − ỹ_i| (L8110–8116);
- mean squared logarithmic error E = (1/N) Σ (ln(y_i + 1) − ln(ỹ_i + 1))² (L8124–8130);
- binary cross-entropy E = −(1/N) Σ (y_i ln ỹ_i + (1 − y_i) ln(1 − ỹ_i)) (L8144–8150);
- categorical cross-entropy, described in words only (L8166–8168): for one-hot y_i and predicted
  probabilities ỹ_i = (p_1, p_2, …), E = −(1/N) Σ_i Σ_c y_{i,c} ln p_{i,c} (the standard formula,
  as Keras' ``categorical_crossentropy``; the book gives none).

Each loss checks that ``y`` and ``ỹ`` have the same shape (no silent broadcasting) and, for the
cross-entropies, that the inputs are probabilities. The same functions, with ``from_logits``,
are what the training engine uses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.probability.distributions import check_distribution

#: Keras clips predictions to [ε, 1 − ε] with ε = 1e-7 before taking logarithms.
KERAS_EPSILON = 1e-7


def _pair(y: ArrayLike, y_pred: ArrayLike, loss: str) -> tuple[Array, Array]:
    y, y_pred = jnp.asarray(y), jnp.asarray(y_pred)
    if y.shape != y_pred.shape:
        raise ValueError(
            f"{loss}: data y has shape {y.shape} but predictions have shape {y_pred.shape}; "
            "they must be equal (reshape explicitly, e.g. y[:, None])"
        )
    if y.size == 0:
        raise ValueError(f"{loss}: empty data (N = 0), the mean is undefined")
    return y, y_pred


def _concrete(x: Array) -> bool:
    return not isinstance(x, jax.core.Tracer)


def mean_squared_error(y: ArrayLike, y_pred: ArrayLike) -> Array:
    """E = (1/N) Σ (y_i − ỹ_i)² (book L8092–8098); 0 iff every prediction is exact."""
    y, y_pred = _pair(y, y_pred, "mean_squared_error")
    return jnp.mean((y - y_pred) ** 2)


def mean_absolute_error(y: ArrayLike, y_pred: ArrayLike) -> Array:
    """E = (1/N) Σ |y_i − ỹ_i| (book L8110–8116)."""
    y, y_pred = _pair(y, y_pred, "mean_absolute_error")
    return jnp.mean(jnp.abs(y - y_pred))


def mean_squared_logarithmic_error(y: ArrayLike, y_pred: ArrayLike) -> Array:
    """E = (1/N) Σ (ln(y_i + 1) − ln(ỹ_i + 1))² (book L8124–8130); needs y, ỹ > −1."""
    y, y_pred = _pair(y, y_pred, "mean_squared_logarithmic_error")
    if _concrete(y) and _concrete(y_pred) and (np.any(np.asarray(y) <= -1) or np.any(np.asarray(y_pred) <= -1)):
        raise ValueError("mean_squared_logarithmic_error needs y > −1 and ỹ > −1 (ln(y + 1))")
    return jnp.mean((jnp.log1p(y) - jnp.log1p(y_pred)) ** 2)


def binary_crossentropy(
    y: ArrayLike, y_pred: ArrayLike, *, from_logits: bool = False, epsilon: float = 0.0
) -> Array:
    """E = −(1/N) Σ (y_i ln ỹ_i + (1 − y_i) ln(1 − ỹ_i)) (book L8144–8150).

    Args:
      y: targets in [0, 1] (the book: 0 or 1).
      y_pred: probabilities ỹ in [0, 1] — or logits z with ``from_logits`` (then ỹ = σ(z),
        computed stably).
      epsilon: clip ỹ to [ε, 1 − ε] first (Keras uses 1e-7); 0 keeps the book's formula, where
        a term with y = 1 and ỹ = 1 is ln 1 = 0 (the book's example has ỹ_4 = 1.0).
    """
    y, y_pred = _pair(y, y_pred, "binary_crossentropy")
    if from_logits:
        # −[y ln σ(z) + (1 − y) ln σ(−z)] with ln σ(z) = −softplus(−z).
        return jnp.mean(y * jax.nn.softplus(-y_pred) + (1 - y) * jax.nn.softplus(y_pred))
    if _concrete(y_pred):
        a = np.asarray(y_pred)
        if np.any(a < 0) or np.any(a > 1):
            raise ValueError(
                "binary_crossentropy: predictions must be probabilities in [0, 1] "
                f"(got min {a.min():.4g}, max {a.max():.4g}); pass from_logits=True for logits"
            )
    if epsilon:
        y_pred = jnp.clip(y_pred, epsilon, 1 - epsilon)
    # xlogy: 0·ln 0 = 0, so a confident right answer costs exactly 0 as in the book.
    return -jnp.mean(jax.scipy.special.xlogy(y, y_pred) + jax.scipy.special.xlogy(1 - y, 1 - y_pred))


def categorical_crossentropy(
    y: ArrayLike, y_pred: ArrayLike, *, from_logits: bool = False, axis: int = -1
) -> Array:
    """E = −(1/N) Σ_i Σ_c y_{i,c} ln p_{i,c} (book L8166–8168 describes it in words).

    ``y`` holds category vectors (one-hot, or any distributions) of shape (N, k) (or (k,));
    ``y_pred`` probabilities (checked to sum to 1) or logits with ``from_logits``.
    """
    y, y_pred = _pair(y, y_pred, "categorical_crossentropy")
    check_distribution(y, "categorical_crossentropy target y", axis=axis)
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=axis)
    else:
        check_distribution(y_pred, "categorical_crossentropy prediction ỹ", axis=axis)
        log_p = jnp.log(y_pred)
    per_example = -jnp.sum(jnp.where(y > 0, y * log_p, 0.0), axis=axis)
    return jnp.mean(per_example)


def sparse_categorical_crossentropy(
    labels: ArrayLike, y_pred: ArrayLike, *, from_logits: bool = False
) -> Array:
    """Categorical cross-entropy with integer labels: −(1/N) Σ_i ln p_{i, label_i}."""
    labels, y_pred = jnp.asarray(labels), jnp.asarray(y_pred)
    if y_pred.ndim != labels.ndim + 1 or y_pred.shape[:-1] != labels.shape:
        raise ValueError(
            f"sparse_categorical_crossentropy: labels of shape {labels.shape} need predictions of "
            f"shape {labels.shape + ('k',)}, got {y_pred.shape}"
        )
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    k = y_pred.shape[-1]
    if _concrete(labels) and labels.size and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(f"labels must be in 0..{k - 1}, got {int(labels.min())}..{int(labels.max())}")
    log_p = jax.nn.log_softmax(y_pred) if from_logits else jnp.log(y_pred)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[..., None], axis=-1))
