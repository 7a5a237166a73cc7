"""Per-step overhead of the training engine: Flax's ``nnx.jit`` against the fast path.

    python benchmarks/bench_step_overhead.py            # 60 000 examples per epoch
    python benchmarks/bench_step_overhead.py --quick    # 6 000

The chapter-10 network 784 → 8 σ → 8 σ → 10 softmax (6 442 weights, SGD lr 0.01, batch 32) is
so small that a step is mostly Python and dispatch. Measured on this machine, one process:

- ``nnx.jit``: the step Flax's MNIST example writes (``nnx.Optimizer``, ``nnx.value_and_grad``
  under ``nnx.jit``), which re-splits and re-merges the module graph in Python at every call;
- ``engine step``: :func:`deepmath_jax.engine.train.make_train_step` — ``nnx.split`` once, a plain
  ``jax.jit`` of a pure function of the arrays that ``nnx.merge``\\ s inside, state donated,
  running sums kept on the device;
- ``fit`` (step loop) and ``fit(scan=True)`` (one ``lax.scan`` per epoch): whole epochs of
  :func:`deepmath_jax.engine.train.fit`, shuffling, padding, prefetching and bookkeeping included.

Prints µs/step and s/epoch and writes ``results/bench_step_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from deepmath_jax.engine import train  # noqa: E402
from deepmath_jax.engine.data import batches  # noqa: E402


class Dense8(nnx.Module):
    """784 → p σ → p σ → 10 softmax (book L5517–5582), with ``logits`` for the stable loss."""

    output_activation = "softmax"

    def __init__(self, p: int = 8, *, rngs: nnx.Rngs) -> None:
        self.l1 = nnx.Linear(784, p, rngs=rngs)
        self.l2 = nnx.Linear(p, p, rngs=rngs)
        self.l3 = nnx.Linear(p, 10, rngs=rngs)

    def logits(self, x):
        return self.l3(jax.nn.sigmoid(self.l2(jax.nn.sigmoid(self.l1(x)))))

    def __call__(self, x):
        return jax.nn.softmax(self.logits(x), axis=-1)


def per_step_nnx_jit(x: np.ndarray, y: np.ndarray, steps: int) -> float:
    model = Dense8(rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(model):
            return optax.softmax_cross_entropy_with_integer_labels(model.logits(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    step(model, optimizer, x[:32], y[:32]).block_until_ready()
    t0 = time.perf_counter()
    for i in range(steps):
        j = (i * 32) % (len(x) - 32)
        loss = step(model, optimizer, x[j : j + 32], y[j : j + 32])
    loss.block_until_ready()
    return (time.perf_counter() - t0) / steps


def per_step_engine(x: np.ndarray, y: np.ndarray, steps: int) -> float:
    model = Dense8(rngs=nnx.Rngs(0))
    tx = optax.sgd(0.01)
    graphdef, state = train.init_state(model, tx)
    totals = train.init_totals(["accuracy"])
    step = train.make_train_step("categorical_crossentropy", tx, graphdef=graphdef)
    it = batches((x, y), 32)
    state, totals = step(state, totals, next(it))
    jax.block_until_ready(totals)
    data = [b for _, b in zip(range(steps), batches((x, y), 32), strict=False)]
    t0 = time.perf_counter()
    for batch in data:
        state, totals = step(state, totals, batch)
    jax.block_until_ready(totals)
    return (time.perf_counter() - t0) / len(data)


def epochs_of_fit(x: np.ndarray, y: np.ndarray, scan: bool, epochs: int = 3) -> list[float]:
    model = Dense8(rngs=nnx.Rngs(0))
    hist = train.fit(model, optax.sgd(0.01), (x, y), epochs=epochs, batch_size=32,
                     key=jax.random.key(0), scan=scan, progress=False)
    return hist["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 000 examples per epoch")
    parser.add_argument("--out", default=str(ROOT / "results"))
    args, _ = parser.parse_known_args(argv)  # nox -s bench passes its options to every script
    n = 6_000 if args.quick else 60_000
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    steps = n // 32

    nnx_step = per_step_nnx_jit(x, y, min(steps, 1000))
    engine_step = per_step_engine(x, y, steps)
    loop = epochs_of_fit(x, y, scan=False)
    scanned = epochs_of_fit(x, y, scan=True)
    result = {
        "machine": f"{platform.machine()}, {jax.devices()[0].device_kind}, "
                   f"{len(jax.devices())} device(s)",
        "examples_per_epoch": n,
        "us_per_step": {"nnx.jit": nnx_step * 1e6, "engine step": engine_step * 1e6},
        "speedup_engine_vs_nnx_jit": nnx_step / engine_step,
        "fit_seconds_per_epoch": {"step loop": loop, "scan": scanned},
    }
    print(f"784 → 8 → 8 → 10, batch 32, {n} examples ({steps} steps) per epoch")
    print(f"  nnx.jit step        {nnx_step * 1e6:8.1f} µs/step   "
          f"({nnx_step * steps:6.2f} s/epoch)")
    print(f"  engine step         {engine_step * 1e6:8.1f} µs/step   "
          f"({engine_step * steps:6.2f} s/epoch)   {nnx_step / engine_step:4.1f}× faster")
    print(f"  fit, step loop      epochs {', '.join(f'{s:.2f}' for s in loop)} s "
          "(first one compiles)")
    print(f"  fit, scan=True      epochs {', '.join(f'{s:.2f}' for s in scanned)} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_step_overhead.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    jnp.zeros(())  # start the backend before timing
    sys.exit(main())
