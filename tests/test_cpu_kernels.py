"""The compiled CPU convolution kernels (chapters 12 and 14): built once per machine, checked
against float64 sums, found again in the cache, switched off and on, and a missing compiler
named in the error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deepmath_jax.kernels import build
from helpers import assert_float32_close

HAS_COMPILER = shutil.which(os.environ.get("CXX") or "c++") is not None


def test_available_where_a_compiler_is():
    # plain C++17: wherever a compiler is on PATH the kernels must build and pass their check
    if not HAS_COMPILER:
        pytest.skip("no C++ compiler on PATH: the reference forms are used (tested elsewhere)")
    assert build.available()
    assert build.lanes() in (4, 8, 16)
    assert build._check() < 1e-5
    library = build.build()  # the second build finds the first one's library
    assert library.exists() and library.parent == build.cache_dir()
    assert build.build() == library


def test_missing_compiler_is_named():
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler 'no-such-c\\+\\+' on PATH"):
        build.build("no-such-c++")


def test_switch(monkeypatch):
    from deepmath_jax.kernels import conv_layer_forward as fwd

    monkeypatch.setenv(build.ENV_SWITCH, "0")
    assert build.available() is False
    x, kernel, bias = jnp.ones((2, 5, 5, 16)), jnp.ones((3, 3, 16, 16)), jnp.ones(16)
    hlo = jax.jit(lambda x, k, b: fwd.conv_layer(x, k, b, relu=True)).lower(x, kernel, bias)
    assert 'custom_call_target="deepmath_conv_layer"' not in hlo.compile().as_text()
    if HAS_COMPILER:  # =1 in a fresh process: built, checked, used
        code = "from deepmath_jax.kernels import build as c; print('kernels', c.available())"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=False, env={**os.environ, build.ENV_SWITCH: "1"})
        assert done.returncode == 0 and done.stdout.strip().endswith("kernels True"), done.stderr
    # =1 without a compiler: an error that says why
    code = "from deepmath_jax.kernels import build as c; c.available()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={**os.environ, build.ENV_SWITCH: "1",
                                            "CXX": "no-such-c++"})
    assert done.returncode != 0 and "no C++ compiler 'no-such-c++'" in done.stderr


def test_definitions_used_by_the_check():
    # the float64 sums the check compares with, against lax on a small case
    from deepmath_jax.kernels.onednn_convolution import reference

    rng = np.random.default_rng(0)
    x, k, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 5, 3), (3, 3, 3, 2), (2,)))
    want = np.maximum(np.asarray(reference(jnp.asarray(x), jnp.asarray(k))) + b, 0)
    assert_float32_close(build._definition_conv(x, k, b, True), want, reduction=9 * 3 + 1)
