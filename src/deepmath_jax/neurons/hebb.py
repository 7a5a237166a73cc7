"""The perceptron and the Hebb rule — chapter 9 *Rétropropagation* (Backpropagation), §2.2
*Le perceptron et la règle de Hebb* (book lines 5166–5213).

One neuron without bias, F(X) = H(a₁x₁ + … + aₙxₙ), H the Heaviside step (H(0) = 1). H' = 0, so
the book imagines a *virtual* step H̃ with H̃ = H but H̃' ≡ 1 (L5172–5176). Stochastic gradient
descent on E_i = (F(X_i) − z_i)² then gives grad E_i = 2(F(X_i) − z_i)·X_i = 2ε X_i with
ε ∈ {0, 1, −1} — **the Hebb rule** (L5190–5210):

- F(X_i) = z_i:            P ← P
- F(X_i) = 1, z_i = 0:     P ← P − 2δ X_i
- F(X_i) = 0, z_i = 1:     P ← P + 2δ X_i

cycling through the data for a fixed number of passes. :func:`hebb_step` is the rule by cases;
:func:`sgd_step` is the same step obtained with ``jax.grad`` through :func:`virtual_heaviside`
(a ``jax.custom_jvp`` whose derivative is 1) — the tests check they agree.

On linearly separable data (through the origin) the rule stops changing after finitely many
passes with every example right (the classical perceptron convergence theorem, which the book
does not state); on XOR it never does (no perceptron realises XOR, chapter 5, Proposition 1).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import heaviside


@jax.custom_jvp
def virtual_heaviside(x: ArrayLike) -> Array:
    """H̃(x) = H(x) (0 for x < 0, 1 for x ≥ 0) with the book's virtual derivative H̃' ≡ 1 (L5174)."""
    return heaviside(x)


@virtual_heaviside.defjvp
def _virtual_heaviside_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    out = virtual_heaviside(x)
    return out, jnp.asarray(t).astype(out.dtype)


def perceptron(weights: ArrayLike, x: ArrayLike) -> Array:
    """F(X) = H(a₁x₁ + … + aₙxₙ), no bias (L5178); ``x`` (…, n)."""
    return heaviside(jnp.asarray(x) @ jnp.asarray(weights))


def hebb_step(weights: ArrayLike, x: ArrayLike, z: ArrayLike, delta: float) -> Array:
    """One step of the Hebb rule by cases (L5198–5210): unchanged when F(X) = z, − 2δX when
    F(X) = 1 and z = 0, + 2δX when F(X) = 0 and z = 1."""
    weights, x = jnp.asarray(weights), jnp.asarray(x)
    f = perceptron(weights, x)
    too_high = (f == 1) & (z == 0)
    too_low = (f == 0) & (z == 1)
    return jnp.where(too_high, weights - 2 * delta * x, jnp.where(too_low, weights + 2 * delta * x, weights))


def sgd_step(weights: ArrayLike, x: ArrayLike, z: ArrayLike, delta: float) -> Array:
    """One stochastic gradient step P ← P − δ grad E_i(P), E_i = (H̃(P·X_i) − z_i)², with
    ``jax.grad`` through the virtual step H̃ (L5180–5190): the Hebb rule."""
    weights = jnp.asarray(weights)

    def error(w):
        return (virtual_heaviside(jnp.asarray(x) @ w) - z) ** 2

    return weights - delta * jax.grad(error)(weights)


class HebbRun(NamedTuple):
    """A run of the Hebb rule: the weights after every step and the errors of every pass."""

    weights: Array  # (steps + 1, n): P_0 … P_steps
    errors_per_pass: Array  # (passes,) misclassified examples at the start of each pass
    converged_pass: int | None  # first pass with no error (the weights no longer change), or None


def hebb_rule(x: ArrayLike, z: ArrayLike, weights0: ArrayLike, delta: float, passes: int) -> HebbRun:
    """Run the Hebb rule through the data (cyclic order) for ``passes`` passes (L5196–5213).

    Args:
      x: (N, n) inputs X_i (append a constant 1 to an input to give the perceptron a bias).
      z: (N,) expected outputs in {0, 1}.
      weights0: P_0 (n,).
      delta: the step δ > 0.
      passes: number of passes over the data.
    """
    x, z, w0 = jnp.asarray(x), jnp.asarray(z), jnp.asarray(weights0)
    if x.ndim != 2 or z.shape != (x.shape[0],) or w0.shape != (x.shape[1],):
        raise ValueError(
            f"hebb_rule needs x (N, n), z (N,), weights0 (n,); got {x.shape}, {z.shape}, {w0.shape}"
        )
    if not bool(jnp.all((z == 0) | (z == 1))):
        raise ValueError("the expected outputs z must be 0 or 1 (a perceptron outputs H(·) ∈ {0, 1})")
    if not delta > 0:
        raise ValueError(f"the step δ must be > 0, got {delta}")

    def one_pass(w, _):
        errors = jnp.sum(perceptron(w, x) != z)

        def step(w, xz):
            xi, zi = xz
            w = hebb_step(w, xi, zi, delta)
            return w, w

        w, ws = jax.lax.scan(step, w, (x, z))
        return w, (ws, errors)

    _, (ws, errors) = jax.lax.scan(one_pass, w0, length=passes)
    weights = jnp.concatenate([w0[None], ws.reshape(-1, w0.shape[0])])
    errors_np = np.asarray(errors)
    zero = np.flatnonzero(errors_np == 0)
    return HebbRun(weights, errors, int(zero[0]) if zero.size else None)
