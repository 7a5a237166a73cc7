"""One process of the multi-process test (tests/test_distributed.py): trains the toy network
of test_train with ``fit(mesh="auto")`` over the devices of every process and writes the
result (process 0).

    python tests/distributed_worker.py OUT.npz NUM_PROCESSES PROCESS_ID PORT
"""

from __future__ import annotations

import os
import sys

os.environ["JAX_NUM_CPU_DEVICES"] = "1"  # one CPU device per process
# without the test run's 4-device flag, but with its other XLA flags (e.g. --xla_cpu_max_isa)
_flags = [f for f in os.environ.pop("XLA_FLAGS", "").split()
          if not f.startswith("--xla_force_host_platform_device_count")]
if _flags:
    os.environ["XLA_FLAGS"] = " ".join(_flags)

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")


def main(out: str, num_processes: int, process_id: int, port: int) -> None:
    if num_processes > 1:
        address = f"127.0.0.1:{port}"
        jax.distributed.initialize(
            coordinator_address=address, num_processes=num_processes, process_id=process_id,
            coordinator_bind_address=address, initialization_timeout=60,
        )
    import numpy as np
    import optax
    from flax import nnx

    sys.path.insert(0, os.path.dirname(__file__))
    from deepmath_jax.engine import train
    from engine_toys import MLP, params, toy
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = train.fit(model, optax.sgd(0.3), (x, y), epochs=2, batch_size=32,
                     validation=(x[:50], y[:50]), validation_batch_size=64,
                     key=jax.random.key(0), mesh="auto", progress=False)
    if process_id == 0:
        arrays = {f"param_{i}": a for i, a in enumerate(params(model))}
        np.savez(out, loss=np.array(hist["loss"]), val_loss=np.array(hist["val_loss"]),
                 devices=jax.device_count(), processes=jax.process_count(), **arrays)
    if num_processes > 1:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
