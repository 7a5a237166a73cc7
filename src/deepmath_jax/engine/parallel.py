"""Data parallelism for the training engine: one mesh axis ``"data"`` over the devices.

The book trains on one CPU with Keras (chapter 10, *keras partie 2*, L5435–6302; chapter 14,
*convolution avec tensorflow/keras*, L7350–7780); this module spreads each batch over every
device (CPU cores simulated with ``JAX_NUM_CPU_DEVICES``, GPUs, or several processes joined by
``jax.distributed``). Three equivalent ways, all tested equal to one device:

- ``"sharding"`` (default): ``jax.jit`` of the ordinary step, the batch placed with
  ``NamedSharding(mesh, P("data"))`` and the state replicated (``P()``); XLA inserts the
  gradient all-reduce;
- ``"shard_map"``: the per-device step of :mod:`deepmath_jax.engine.train` (explicit ``lax.pmean``
  of the gradients) under ``jax.shard_map``;
- ``"pmap"``: the same per-device function under ``jax.pmap`` (state stacked on a leading
  device axis), the older API, kept for comparison.

The mesh axes are ``AxisType.Auto``: ``jax.make_mesh`` makes *Explicit* axes by default since
JAX 0.10, which would type every array with its sharding.

With several processes (``jax.distributed.initialize``), every process holds the whole dataset
and computes the same shuffled order; :func:`put_batch` gives each device its rows of the global
batch, so the result is that of one process (tested with 2 processes on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"
STRATEGIES = ("sharding", "shard_map", "pmap")


def data_mesh(devices: Sequence[Any] | None = None) -> Mesh:
    """A 1-D mesh with axis ``"data"`` over ``devices`` (default: every device of every
    process), with ``Auto`` axis type."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device")
    return jax.make_mesh(
        (len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices
    )


def resolve_mesh(mesh: Mesh | str | None) -> Mesh | None:
    """``None`` → no mesh (one device); ``"auto"`` → :func:`data_mesh` over all devices when
    there are several; a ``Mesh`` must have a ``"data"`` axis."""
    if mesh is None:
        return None
    if isinstance(mesh, str):
        if mesh != "auto":
            raise ValueError(f"mesh must be None, 'auto' or a jax.sharding.Mesh, got {mesh!r}")
        return data_mesh() if jax.device_count() > 1 else None
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be None, 'auto' or a jax.sharding.Mesh, got "
                        f"{type(mesh).__name__}")
    if DATA_AXIS not in mesh.axis_names:
        raise ValueError(f"the mesh needs an axis named {DATA_AXIS!r}, has {mesh.axis_names}")
    return mesh


def data_size(mesh: Mesh | None) -> int:
    """Number of devices a batch is split over."""
    return 1 if mesh is None else int(mesh.shape[DATA_AXIS])


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def _is_key(a: Any) -> bool:
    return hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jax.dtypes.prng_key)


def _global_array(a: Any, sharding: NamedSharding) -> jax.Array:
    """Place a host value (the same in every process) with ``sharding``: each process fills
    the shards of its own devices from its copy."""
    if _is_key(a):
        impl = jax.random.key_impl(a)
        return jax.random.wrap_key_data(_global_array(jax.random.key_data(a), sharding),
                                        impl=impl)
    if jax.process_count() == 1:
        return jax.device_put(a, sharding)
    host = np.asarray(a)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Every leaf of ``tree`` copied on every device of ``mesh``."""
    sharding = replicated(mesh)
    return jax.tree.map(lambda a: _global_array(a, sharding), tree)


def put_batch(batch: Any, mesh: Mesh) -> Any:
    """A batch (pytree of arrays with the examples on axis 0) split over the ``"data"`` axis."""
    sharding = batch_sharding(mesh)
    n = data_size(mesh)
    for leaf in jax.tree.leaves(batch):
        if leaf.shape[0] % n:
            raise ValueError(f"a batch of {leaf.shape[0]} rows cannot be split over {n} devices "
                             f"(choose a batch size divisible by {n})")
    return jax.tree.map(lambda a: _global_array(a, sharding), batch)


def to_local(tree: Any) -> Any:
    """Fully replicated global arrays → ordinary single-device arrays (for eager use)."""

    def local(a: Any) -> Any:
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            if not a.is_fully_replicated:
                raise ValueError("to_local needs replicated arrays (the training state is)")
            return a.addressable_data(0)
        if isinstance(a, jax.Array) and len(a.devices()) > 1:
            return jax.device_put(a, jax.local_devices()[0])
        return a

    return jax.tree.map(local, tree)


def shard_map_step(
    per_device: Callable, mesh: Mesh, *, sharded_args: Sequence[bool], donate: Sequence[int] = (),
    compiler_options: Mapping[str, Any] | None = None,
) -> Callable:
    """``jax.jit(jax.shard_map(per_device))``: arguments flagged in ``sharded_args`` are split
    over ``"data"`` (batches), the others replicated (state, totals); outputs replicated (the
    per-device function makes them equal with ``lax.pmean``/``psum``).

    ``check_vma=False``: the function does its own collectives, as under pmap. With the check
    on, JAX would already sum over the devices the gradient of a replicated parameter (the
    transpose of its implicit broadcast), and the explicit ``pmean`` would count it again.
    """
    in_specs = tuple(P(DATA_AXIS) if s else P() for s in sharded_args)
    mapped = jax.shard_map(per_device, mesh=mesh, in_specs=in_specs, out_specs=P(),
                           check_vma=False)
    return jax.jit(mapped, donate_argnums=tuple(donate), compiler_options=compiler_options)


def pmap_step(per_device: Callable, *, donate: Sequence[int] = ()) -> Callable:
    """``jax.pmap`` of the same per-device function; every argument has a leading device axis
    (see :func:`stack` and :func:`split_rows`)."""
    return jax.pmap(per_device, axis_name=DATA_AXIS, donate_argnums=tuple(donate))


def stack(tree: Any, n: int) -> Any:
    """A copy of ``tree`` per device, stacked on a new leading axis (pmap's replication)."""
    return jax.tree.map(lambda a: jnp.stack([a] * n), tree)


def unstack(tree: Any) -> Any:
    """The first device's copy of a stacked tree."""
    return jax.tree.map(lambda a: a[0], tree)


def split_rows(batch: Any, n: int) -> Any:
    """Rows ``(B, …)`` → ``(n, B / n, …)`` for pmap."""

    def split(a: Any) -> Any:
        if a.shape[0] % n:
            raise ValueError(f"a batch of {a.shape[0]} rows cannot be split over {n} devices")
        return np.asarray(a).reshape(n, a.shape[0] // n, *a.shape[1:])

    return jax.tree.map(split, batch)
