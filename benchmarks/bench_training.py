"""Training speed of the book's networks: deepmath_jax (JAX/Flax) beside Keras 3 and PyTorch.

    python benchmarks/bench_training.py                 # full epochs (60 000 examples), ~5 min
    python benchmarks/bench_training.py --quick         # 6 000 examples per epoch
    python benchmarks/bench_training.py --models p8 cnn --frameworks jax keras

Measures on this machine, in one run, the chapter-10 network 784 → p → p → 10 (p = 8 and 50,
SGD lr 0.01, batch 32) and the chapter-14 MNIST CNN (Adam, batch 32), each written in
deepmath_jax — its own ``train.fit`` (rows ``fit``, ``fit-scan``: the loop a reader runs, beside
Keras's ``model.fit``; ``fit-cores``, ``fit-scan-cores``: the same with ``mesh="auto"`` over one
CPU device per core) and a bare jitted step over ``deepmath_jax.engine.models`` (rows ``single…``,
``sharded``) —, in Keras 3 (TensorFlow backend,
``model.fit``, as the book's readers run it) and, when it is installed, in PyTorch:

- s/epoch and examples/s of a steady epoch, the first epoch (with compilation) apart, and the
  compile time of the jitted step; single device, and data-parallel over one CPU device per
  core (``sharded``);
- peak resident memory of the process (each measurement runs in its own process);
- the training FLOP/s (6 × multiply-adds per example, less the first layer's input gradient)
  as a fraction of a float32 2048×2048 matmul measured in the same run (the CPU's practical peak).

Data: the real Fashion-MNIST IDX files when found (Debian's ``dataset-fashion-mnist``,
``--idx-dir``), else random arrays of MNIST's shapes; the output says which. Writes
``results/bench.json`` and prints a table with the speed ratios.

Each measurement runs in a subprocess (``--worker``), so that peak memory, XLA flags and the
number of CPU devices are per measurement.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
IDX_DIRS = ["/usr/share/datasets/fashion-mnist"]
MODELS = {
    "p8": "784 → 8 → 8 → 10 (SGD)",
    "p50": "784 → 50 → 50 → 10 (SGD)",
    "cnn": "MNIST CNN (Adam)",
}
# CNN variants: ``fit`` and ``single`` run every convolution of the training step on the
# compiled CPU kernels (``deepmath_jax.kernels.build``) when they are available;
# ``fit-lax`` / ``fit-scan-lax`` without them nor oneDNN (``DEEPMATH_CONV_KERNELS=0``,
# ``DEEPMATH_ONEDNN_CONV=0``: XLA's Eigen kernels); the ``…-cores`` and ``sharded`` rows are
# partitioned over devices, so they keep ``lax``.
# ``single`` compiles with ``models.conv_compiler_options`` (XLA's Eigen
# convolutions, YNNPACK fusions off: fastest on one idle device), ``single-ynn`` with XLA's
# defaults (YNNPACK, jaxlib 0.10: slower idle, steadier when the cores are shared),
# ``single-xlaconv`` with JAX's own convolution gradients, ``single-scan`` as one ``lax.scan``
# per epoch. ``sharded`` and the ``…-cores`` rows of ``train.fit`` (``mesh="auto"``) split each
# batch over one CPU device per core, where ``conv_compiler_options`` keeps XLA's defaults
# (YNNPACK runs each device's share on its own core).


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data(n: int, idx_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` training images (N, 28, 28) float32 in [0, 1], labels int32, and their source."""
    for folder in [idx_dir] if idx_dir else IDX_DIRS:
        if folder is None:
            continue
        candidates = [Path(folder) / f"train-images-idx3-ubyte{s}" for s in (".gz", "")]
        images = next((p for p in candidates if p.exists()), None)
        if images is None:
            continue
        labels = Path(str(images).replace("images-idx3", "labels-idx1"))
        x = _read_idx(images)[:n].astype(np.float32) / 255
        y = _read_idx(labels)[:n].astype(np.int32)
        return x, y, f"Fashion-MNIST IDX files ({images.parent}), {len(x)} images"
    rng = np.random.default_rng(0)
    x = rng.random((n, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    return x, y, f"synthetic random arrays of MNIST's shapes, {n} images (no IDX files found)"


def training_flops_per_example(model: str) -> float:
    """6 × multiply-adds (forward 2, backward 4), less the first layer's input gradient (2)."""
    if model in ("p8", "p50"):
        p = int(model[1:])
        macs = [784 * p, p * p, p * 10]
    else:
        macs = [28 * 28 * 9 * 1 * 32, 28 * 28 * 9 * 32 * 16, 28 * 28 * 16 * 10]
    return 6 * sum(macs) - 2 * macs[0]


# --------------------------------------------------------------------------------------------
# Workers: one framework, one model, in this process
# --------------------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _book_model(model: str, x: np.ndarray, impl: str = "fast"):
    """The benchmarked network with Keras's optimizer for it ('adam' for the CNN, 'sgd' for the
    dense networks) and the images shaped for it."""
    import optax
    from flax import nnx

    sys.path.insert(0, str(ROOT / "src"))
    from deepmath_jax.engine import models

    if model == "cnn":
        net = models.mnist_cnn(impl=impl, rngs=nnx.Rngs(0))
        return net, optax.adam(1e-3, eps=1e-7), x[..., None]  # Keras's 'adam'
    net = models.mnist_dense(int(model[1:]), rngs=nnx.Rngs(0))
    return net, optax.sgd(0.01), x.reshape(len(x), 784)  # Keras's 'sgd'


def worker_jax(model: str, variant: str, x: np.ndarray, y: np.ndarray, epochs: int) -> dict:
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    sys.path.insert(0, str(ROOT / "src"))
    from deepmath_jax.engine import models
    from deepmath_jax.kernels import build, onednn_convolution

    batch = 32
    net, tx, xs = _book_model(model, x, "xla" if "xlaconv" in variant else "fast")
    graphdef, params = nnx.split(net, nnx.Param)
    opt_state = tx.init(params)
    steps = len(xs) // batch

    def loss_fn(params, xb, yb):
        logits = nnx.merge(graphdef, params).logits(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    def step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    sharded = variant.startswith("sharded")
    ndev = len(jax.devices())
    if sharded:
        mesh = jax.make_mesh((ndev,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
        rep, dat = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
        params, opt_state = jax.device_put((params, opt_state), rep)
        put = lambda a: jax.device_put(a, dat)  # noqa: E731
    else:
        put, mesh = jnp.asarray, None
    # the options that make the convolutions fastest here (XLA's defaults: ``-ynn``)
    options = None if "ynn" in variant else models.conv_compiler_options(net, mesh)

    key = jax.random.key(1)
    xb0, yb0 = put(xs[:batch]), put(y[:batch])
    t0 = time.perf_counter()
    jit_step = jax.jit(step, donate_argnums=(0, 1), compiler_options=options)
    compiled = jit_step.lower(params, opt_state, xb0, yb0).compile()
    compile_s = time.perf_counter() - t0

    if "scan" in variant:
        # The whole epoch as one lax.scan over the batches (data on the device, shuffled there).
        xd, yd = jnp.asarray(xs), jnp.asarray(y)

        def epoch_fn(params, opt_state, key):
            perm = jax.random.permutation(key, len(xd))[: steps * batch].reshape(steps, batch)

            def body(carry, idx):
                p, o = carry
                p, o, loss = step(p, o, xd[idx], yd[idx])
                return (p, o), loss

            (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), perm)
            return params, opt_state, losses[-1]

        t0 = time.perf_counter()
        epoch_jit = jax.jit(epoch_fn, donate_argnums=(0, 1), compiler_options=options)
        epoch_c = epoch_jit.lower(params, opt_state, key).compile()
        compile_s += time.perf_counter() - t0

    times, loss = [], None
    for e in range(epochs):
        t0 = time.perf_counter()
        if "scan" in variant:
            params, opt_state, loss = epoch_c(params, opt_state, jax.random.fold_in(key, e))
        else:
            perm = np.asarray(jax.random.permutation(jax.random.fold_in(key, e), len(xs)))
            for i in range(steps):
                idx = perm[i * batch : (i + 1) * batch]
                params, opt_state, loss = compiled(params, opt_state, put(xs[idx]), put(y[idx]))
                if sharded:
                    # XLA:CPU runs a step's all-reduce inside its 2-thread pool; a second step
                    # dispatched before the first ends can block both threads (deadlock seen
                    # on 2 cores): one sharded step in flight at a time.
                    loss.block_until_ready()
        loss = float(loss)
        times.append(time.perf_counter() - t0)
    return {
        "epoch_s": times,
        "compile_s": compile_s,
        "loss": loss,
        "devices": ndev,
        "compiler_options": options,
        "onednn_conv_available": onednn_convolution.available(),
        "conv_kernels_available": build.available(),
    }


def worker_jax_fit(model: str, variant: str, x: np.ndarray, y: np.ndarray, epochs: int) -> dict:
    """The package's own training loop, ``deepmath_jax.engine.train.fit``, as a reader calls it: the
    same model and optimizer, accuracy as metric (as the Keras row), shuffled batches of 32,
    the non-finite check and running sums included; ``fit-scan`` with ``scan=True``. Epoch
    times are fit's ``history["seconds"]``."""
    import jax

    net, tx, xs = _book_model(model, x)  # puts src/ on the path
    from deepmath_jax.engine import models, parallel, train
    from deepmath_jax.kernels import build, onednn_convolution

    mesh = "auto" if variant.endswith("-cores") else None
    history = train.fit(net, tx, (xs, y), epochs=epochs, batch_size=32, metrics=["accuracy"],
                        key=jax.random.key(1), progress=False, scan="scan" in variant, mesh=mesh)
    return {
        "epoch_s": history["seconds"],
        "loss": history["loss"][-1],
        "devices": len(jax.devices()),
        "compiler_options": models.conv_compiler_options(net, parallel.resolve_mesh(mesh)),
        "onednn_conv_available": onednn_convolution.available(),
        "conv_kernels_available": build.available(),
    }


def worker_keras(model: str, x: np.ndarray, y: np.ndarray, epochs: int) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    if model == "cnn":
        net = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.Conv2D(16, 3, padding="same", activation="relu"),
                layers.Flatten(),
                layers.Dense(10, activation="softmax"),
            ]
        )
        net.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        xs = x[..., None]
    else:
        p = int(model[1:])
        net = keras.Sequential(
            [
                keras.Input((784,)),
                layers.Dense(p, activation="sigmoid"),
                layers.Dense(p, activation="sigmoid"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        net.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        xs = x.reshape(len(x), 784)
    ys = keras.utils.to_categorical(y, 10)

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)
            losses.append(logs["loss"])

    times: list[float] = []
    losses: list[float] = []
    net.fit(xs, ys, batch_size=32, epochs=epochs, verbose=0, callbacks=[Timer()])
    return {"epoch_s": times, "loss": losses[-1], "version": keras.__version__}


def worker_torch(model: str, x: np.ndarray, y: np.ndarray, epochs: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 16, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(28 * 28 * 16, 10),
        )
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        xs = torch.from_numpy(x[:, None, :, :].copy())
    else:
        p = int(model[1:])
        net = nn.Sequential(
            nn.Linear(784, p), nn.Sigmoid(), nn.Linear(p, p), nn.Sigmoid(), nn.Linear(p, 10)
        )
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        xs = torch.from_numpy(x.reshape(len(x), 784).copy())
    ys = torch.from_numpy(y.astype(np.int64))
    loss_fn = nn.CrossEntropyLoss()
    times, loss = [], None
    gen = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xs), generator=gen)
        for i in range(len(xs) // 32):
            idx = perm[i * 32 : (i + 1) * 32]
            opt.zero_grad()
            loss = loss_fn(net(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return {
        "epoch_s": times,
        "loss": float(loss),
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def run_worker(args: argparse.Namespace) -> None:
    framework, model, variant = args.worker
    x, y, source = load_data(args.examples, args.idx_dir)
    if framework == "jax" and variant.startswith("fit"):
        out = worker_jax_fit(model, variant, x, y, args.epochs)
    elif framework == "jax":
        out = worker_jax(model, variant, x, y, args.epochs)
    elif framework == "keras":
        out = worker_keras(model, x, y, args.epochs)
    else:
        out = worker_torch(model, x, y, args.epochs)
    out.update(peak_mb=_peak_mb(), data=source)
    print("RESULT " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def matmul_peak() -> dict:
    """float32 2048×2048 matmul, jitted JAX and NumPy: best of 5 (FLOP/s)."""
    import jax
    import jax.numpy as jnp

    n = 2048
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    f = jax.jit(jnp.dot)
    f(a, a).block_until_ready()
    best = min(_timed(lambda: f(a, a).block_until_ready()) for _ in range(5))
    an = np.asarray(a)
    best_np = min(_timed(lambda: an @ an) for _ in range(5))
    return {"jax_gflops": 2 * n**3 / best / 1e9, "numpy_gflops": 2 * n**3 / best_np / 1e9}


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except ValueError:
        return False


def plan(models: list[str], frameworks: list[str]) -> list[tuple[str, str, str, dict]]:
    """(framework, model, variant, extra environment) of every measurement."""
    ncores = os.cpu_count() or 1
    runs = []
    cores = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={ncores}"}
    for m in models:
        if "jax" in frameworks:
            runs.append(("jax", m, "fit", {"XLA_FLAGS": ""}))
            runs.append(("jax", m, "fit-scan", {"XLA_FLAGS": ""}))
            if m == "cnn":  # the same without oneDNN and the weight-gradient kernel (lax: Eigen)
                lax_only = {"XLA_FLAGS": "", "DEEPMATH_ONEDNN_CONV": "0", "DEEPMATH_CONV_KERNELS": "0"}
                runs.append(("jax", m, "fit-lax", lax_only))
                runs.append(("jax", m, "fit-scan-lax", lax_only))
            if ncores > 1:
                runs.append(("jax", m, "fit-cores", cores))
                runs.append(("jax", m, "fit-scan-cores", cores))
            if m == "cnn":
                runs.append(("jax", m, "single", {"XLA_FLAGS": ""}))
                runs.append(("jax", m, "single-ynn", {"XLA_FLAGS": ""}))
                runs.append(("jax", m, "single-xlaconv", {"XLA_FLAGS": ""}))
                runs.append(("jax", m, "single-scan", {"XLA_FLAGS": ""}))
                runs.append(
                    (
                        "jax",
                        m,
                        "sharded",
                        {"XLA_FLAGS": f"--xla_force_host_platform_device_count={ncores}"},
                    )
                )
            else:
                runs.append(("jax", m, "single", {"XLA_FLAGS": ""}))
                runs.append(("jax", m, "single-scan", {"XLA_FLAGS": ""}))
                runs.append(
                    (
                        "jax",
                        m,
                        "sharded",
                        {"XLA_FLAGS": f"--xla_force_host_platform_device_count={ncores}"},
                    )
                )
        if "keras" in frameworks:
            runs.append(("keras", m, "fit", {}))
        if "torch" in frameworks:
            runs.append(("torch", m, "eager", {}))
    return runs


def measure(run: tuple[str, str, str, dict], args: argparse.Namespace) -> dict:
    framework, model, variant, extra = run
    env = dict(os.environ, **extra, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("JAX_NUM_CPU_DEVICES", None)
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        framework,
        model,
        variant,
        "--examples",
        str(args.examples),
        "--epochs",
        str(args.epochs),
    ]
    if args.idx_dir:
        cmd += ["--idx-dir", args.idx_dir]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - t0
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {
            "framework": framework,
            "model": model,
            "variant": variant,
            "error": " | ".join(tail),
        }
    out = json.loads(line[len("RESULT ") :])
    steady = min(out["epoch_s"][1:]) if len(out["epoch_s"]) > 1 else out["epoch_s"][0]
    flops = training_flops_per_example(model) * args.examples
    out.update(
        framework=framework,
        model=model,
        variant=variant,
        wall_s=wall,
        xla_flags=extra.get("XLA_FLAGS"),
        steady_epoch_s=steady,
        first_epoch_s=out["epoch_s"][0],
        examples_per_s=args.examples / steady,
        train_gflops=flops / steady / 1e9,
    )
    return out


def format_table(results: list[dict], peak: float, examples: int) -> str:
    lines = [
        f"{'model':<6}{'framework':<10}{'variant':<20}{'s/epoch':>9}{'ex/s':>10}{'1st ep':>8}"
        f"{'compile':>9}{'peak MB':>9}{'GFLOP/s':>9}{'%peak':>7}{'×keras':>8}{'×torch':>8}"
    ]
    for model in dict.fromkeys(r["model"] for r in results):
        rows = [r for r in results if r["model"] == model]
        ref = {
            r["framework"]: r.get("steady_epoch_s")
            for r in rows
            if r["framework"] in ("keras", "torch")
        }
        for r in rows:
            if "error" in r:
                lines.append(
                    f"{model:<6}{r['framework']:<10}{r['variant']:<20}  failed: {r['error'][:80]}"
                )
                continue
            s = r["steady_epoch_s"]
            vk = f"{ref['keras'] / s:7.2f}×" if ref.get("keras") else "      —"
            vt = f"{ref['torch'] / s:7.2f}×" if ref.get("torch") else "      —"
            comp = f"{r['compile_s']:8.2f}s" if "compile_s" in r else "        —"
            lines.append(
                f"{model:<6}{r['framework']:<10}{r['variant']:<20}{s:9.3f}{r['examples_per_s']:10.0f}"
                f"{r['first_epoch_s']:8.2f}{comp}{r['peak_mb']:9.0f}{r['train_gflops']:9.1f}"
                f"{100 * r['train_gflops'] / peak:6.1f}%{vk}{vt}"
            )
    lines.append(
        f"(epoch = {examples} examples, batch 32; ×keras / ×torch = their s/epoch ÷ this row's; "
        f"%peak of the {peak:.0f} GFLOP/s float32 matmul measured above)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="6 000 examples per epoch instead of 60 000"
    )
    parser.add_argument(
        "--examples", type=int, default=None, help="examples per epoch (default 60 000)"
    )
    parser.add_argument(
        "--epochs", type=int, default=2, help="epochs per measurement (first = with compile)"
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="only these deepmath_jax rows (e.g. fit fit-scan single); Keras and PyTorch run "
        "as chosen by --frameworks",
    )
    parser.add_argument(
        "--frameworks",
        nargs="+",
        default=["jax", "keras", "torch"],
        choices=["jax", "keras", "torch"],
    )
    parser.add_argument(
        "--idx-dir",
        default=None,
        help="folder of MNIST-format IDX files (default: Debian's Fashion-MNIST)",
    )
    parser.add_argument("--out", default="results/bench.json")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.examples is None:
        args.examples = 6000 if args.quick else 60000
    if args.examples < 32:
        parser.error("--examples must be at least one batch (32)")
    if args.worker:
        run_worker(args)
        return 0

    frameworks = list(args.frameworks)
    if "torch" in frameworks and not torch_available():
        print(
            "PyTorch is not installed: its column is skipped (install torch's CPU build to add it)"
        )
        frameworks.remove("torch")
    _, _, source = load_data(args.examples, args.idx_dir)
    peak = matmul_peak()
    print(f"data: {source}")
    load = os.getloadavg()
    busy = (
        " — the machine is busy: other processes share its cores, timings are inflated"
        if load[0] > 0.5
        else ""
    )
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}{busy}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; float32 2048² matmul: "
        f"{peak['jax_gflops']:.0f} GFLOP/s (jax), {peak['numpy_gflops']:.0f} (numpy)"
    )
    results = []
    try:
        from tqdm import tqdm
    except ImportError:  # the bench runs without tqdm too
        tqdm = None
    runs = plan(args.models, frameworks)
    if args.variants:
        runs = [r for r in runs if r[0] != "jax" or r[2] in args.variants]
    bar = tqdm(runs, desc="bench", unit="run") if tqdm else runs
    for run in bar:
        if tqdm:
            bar.set_postfix_str(f"{run[0]} {run[1]} {run[2]}")
        results.append(measure(run, args))
    table = format_table(results, peak["jax_gflops"], args.examples)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "data": source,
                "examples_per_epoch": args.examples,
                "epochs": args.epochs,
                "machine": {
                    "arch": platform.machine(),
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "matmul_peak": peak,
                "load_average_before": load,
                "results": results,
                "table": table,
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
            indent=2,
        )
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
