"""Test configuration shared by every test module.

- 4 simulated CPU devices (set before JAX starts) for the sharding / pmap tests;
- strict rank promotion: an implicit broadcast between arrays of different ranks is an error,
  so a shape slip cannot pass silently;
- ``x64``: a fixture (and the ``DEEPMATH_X64=1`` switch for a whole run) for the float64 tables
  of the book;
- hypothesis profiles: ``ci`` (deterministic, the default) and ``dev`` (more examples), chosen
  with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

# Must happen before jax is imported anywhere.
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "4")
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
if os.environ.get("DEEPMATH_X64") == "1":
    jax.config.update("jax_enable_x64", True)

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=400,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def x64():
    """Run the test with float64 enabled (the book's tables are float64 computations).

    Safe with hypothesis: the switch holds for every example of the test.
    """
    with jax.enable_x64(True):
        yield
