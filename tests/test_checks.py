"""The shared argument checks (``deepmath_jax._checks``) and the one parameter counter
(``deepmath_jax.parameters``): each wrong kind is a TypeError, each value out of range a
ValueError, and the message names the argument and the value."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepmath_jax import _checks
from deepmath_jax.parameters import count_parameters


@pytest.mark.parametrize("bad", ["abc", b"x", None, 1 + 2j, [1, "a"], {"a": 1}, np.array(["a"])])
def test_real_array_refuses_what_is_not_real(bad):
    with pytest.raises(TypeError, match=r"^input 'x' must be a real number or an array of real"):
        _checks.real_array(bad, "input 'x'")


def test_real_array_ranks_emptiness_and_dtypes():
    assert _checks.real_array([1, 2], "v", ndim=1).dtype == jnp.int32
    assert _checks.real_array(True, "v").dtype == jnp.int32
    assert jnp.issubdtype(_checks.real_array([1, 2], "v", float_dtype=True).dtype, jnp.floating)
    with pytest.raises(ValueError, match=r"v must be 1-D or 2-D, got shape \(\) \(0-D\)"):
        _checks.real_array(3.0, "v", ndim=(1, 2))
    with pytest.raises(ValueError, match=r"v must not be empty, got shape \(0,\)"):
        _checks.real_array([], "v", allow_empty=False)


def test_integer():
    assert _checks.integer(np.int64(3), "n", minimum=1) == 3
    assert type(_checks.integer(np.int64(3), "n")) is int
    for bad in (True, 2.0, 2.5, "3", None):
        with pytest.raises(TypeError, match=r"^n must be an integer ≥ 1, got"):
            _checks.integer(bad, "n", minimum=1)
    with pytest.raises(ValueError, match=r"^n must be an integer ≥ 1, got 0$"):
        _checks.integer(0, "n", minimum=1)
    with pytest.raises(ValueError, match=r"^k must be an integer in \[0, 4\], got 5$"):
        _checks.integer(5, "k", minimum=0, maximum=4)


def test_real_number():
    assert _checks.real_number(0.5, "rate", low=0, high=1, high_open=True) == 0.5
    assert _checks.real_number(jnp.float32(2), "T", low=0, low_open=True) == 2.0
    for bad in (1.0, float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match=r"^rate must be a real number in \[0, 1\), got"):
            _checks.real_number(bad, "rate", low=0, high=1, high_open=True)
    for bad in ("0.5", None, True, jnp.ones(2)):
        with pytest.raises(TypeError, match=r"^rate must be a real number in"):
            _checks.real_number(bad, "rate", low=0, high=1)


def test_choice():
    assert _checks.choice("same", "mode", ("full", "same", "valid")) == "same"
    with pytest.raises(ValueError, match=r"^mode must be one of 'full', 'same', 'valid'; got 'sam'$"):
        _checks.choice("sam", "mode", ("full", "same", "valid"))
    with pytest.raises(ValueError, match="got 1"):
        _checks.choice(1, "pooling", (True, False))  # 1 == True, but it is not a bool


def test_prng_key():
    key = jax.random.key(0)
    assert _checks.prng_key(key) is key
    raw = jax.random.PRNGKey(0)
    assert jnp.issubdtype(_checks.prng_key(raw).dtype, jax.dtypes.prng_key)
    for bad in (0, None, True, "key", jnp.zeros(3)):
        with pytest.raises(TypeError, match=r"^key must be a JAX PRNG key \(jax.random.key\(seed\)\)"):
            _checks.prng_key(bad)


def test_is_concrete():
    assert _checks.is_concrete(jnp.ones(2))
    seen = []
    jax.jit(lambda x: seen.append(_checks.is_concrete(x)) or x)(1.0)
    assert seen == [False]


def test_count_parameters_counts_arrays_and_nnx_params_only():
    tree = {"W": jnp.zeros((3, 4)), "b": jnp.zeros(4), "activation": "relu", "size": 4}
    assert count_parameters(tree) == 16
    assert count_parameters([np.zeros((2, 2)), (np.zeros(5),)]) == 9

    class Net(nnx.Module):
        def __init__(self, *, rngs: nnx.Rngs) -> None:
            self.linear = nnx.Linear(3, 2, rngs=rngs)  # 3·2 + 2
            self.norm = nnx.BatchNorm(2, rngs=rngs)  # scale, bias: 2 + 2 (not the statistics)
            self.dropout = nnx.Dropout(0.5, rngs=rngs)  # an RNG state, no parameter

    assert count_parameters(Net(rngs=nnx.Rngs(0))) == 8 + 4
