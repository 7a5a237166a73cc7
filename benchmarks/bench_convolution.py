"""Speed of the hand-written convolution (chapters 11–13) beside the libraries.

    python benchmarks/bench_convolution.py            # 512×512 image and the other cases
    python benchmarks/bench_convolution.py --quick    # fewer repetitions
    python benchmarks/bench_convolution.py --out results/bench_convolution.json

The target (issue 5): the book's 2-D convolution of a 512 × 512 image by a 3 × 3 motif, as
``deepmath_jax.convolution.conv2d.convolve2d`` computes it (shifted slices of the padded image times
the motif's taps, one jitted program), within 2× of ``jax.lax.conv_general_dilated`` on the same
data. Also measured: a 5 × 5 motif, a multi-channel layer (512 × 512 × 3 → 16 motifs), a
batch of feature maps (16 × 64 × 64 × 32 → 32), ``jax.scipy.signal.convolve2d``, the FFT
version, the 1-D convolution, and the book's recipe written with Python loops (on a small
image, for scale).

Each function is called through its public API (argument checks included) after a warm-up
call (compilation), ``block_until_ready`` on every result; the median of the repetitions is
reported. The lax baseline is a jitted ``conv_general_dilated`` on the turned motif with the
same padding (XLA correlates). Prints a table and writes a JSON file (``results/`` by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.scipy.signal as jsignal  # noqa: E402

from deepmath_jax.convolution.conv1d import convolve  # noqa: E402
from deepmath_jax.convolution.conv2d import (  # noqa: E402
    convolve2d,
    convolve2d_fft,
    convolve2d_loop,
    convolve_channels,
    padding_pairs,
)


def timeit(fn: Callable[[], jax.Array], repeat: int) -> dict[str, float]:
    """Median and minimum wall time (ms) of ``fn()`` after one warm-up call, and the warm-up."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return {
        "median_ms": 1e3 * statistics.median(times),
        "min_ms": 1e3 * min(times),
        "first_call_ms": 1e3 * first,
        "repeat": repeat,
    }


def lax_baseline(motif_shape: tuple[int, int]) -> Callable:
    """jit(conv_general_dilated) for the book's 'same' convolution of NHWC data by HWIO motifs."""
    pads = padding_pairs("same", motif_shape)

    @jax.jit
    def conv(x, w):
        return jax.lax.conv_general_dilated(
            x, w[::-1, ::-1], (1, 1), pads, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    return conv


def cases(key: jax.Array, quick: bool) -> list[dict]:
    k1, k2, k3, k4, k5, k6 = jax.random.split(key, 6)
    image = jax.random.uniform(k1, (512, 512), maxval=255.0)
    m3 = jax.random.normal(k2, (3, 3))
    m5 = jax.random.normal(k3, (5, 5))
    rgb = jax.random.uniform(k4, (512, 512, 3))
    w16 = jax.random.normal(k5, (3, 3, 3, 16))
    maps = jax.random.normal(k6, (16, 64, 64, 32))
    w32 = jax.random.normal(k2, (3, 3, 32, 32))
    signal = jax.random.normal(k3, (1_000_000,))
    out = []
    for name, motif in [("512×512 image, 3×3 motif", m3), ("512×512 image, 5×5 motif", m5)]:
        base = lax_baseline(motif.shape)
        x4, w4 = image[None, :, :, None], motif[:, :, None, None]
        out.append(
            {
                "case": name,
                "ours": ("convolve2d", lambda i=image, m=motif: convolve2d(i, m)),
                "lax": ("jit(lax.conv_general_dilated)", lambda b=base, x=x4, w=w4: b(x, w)),
                "others": [
                    (
                        "jax.scipy.signal.convolve2d",
                        lambda i=image, m=motif: jsignal.convolve2d(i, m, mode="same"),
                    ),
                    ("convolve2d_fft", lambda i=image, m=motif: convolve2d_fft(i, m)),
                ],
            }
        )
    base = lax_baseline((3, 3))
    out.append(
        {
            "case": "512×512×3 → 16 motifs 3×3×3",
            "ours": ("convolve_channels", lambda: convolve_channels(rgb, w16)),
            "lax": ("jit(lax.conv_general_dilated)", lambda: base(rgb[None], w16)),
            "others": [],
        }
    )
    out.append(
        {
            "case": "batch 16×64×64×32 → 32 motifs 3×3×32",
            "ours": ("convolve_channels", lambda: convolve_channels(maps, w32)),
            "lax": ("jit(lax.conv_general_dilated)", lambda: base(maps, w32)),
            "others": [],
        }
    )
    g = jnp.array([1.0, 2.0, 3.0])
    out.append(
        {
            "case": "1-D, 10⁶ samples, motif of 3",
            "ours": ("convolve", lambda: convolve(signal, g)),
            "lax": None,
            "others": [("jnp.convolve", lambda: jnp.convolve(signal, g, mode="same"))],
        }
    )
    small = image[:64, :64]
    out.append(
        {
            "case": "64×64 image, 3×3 motif: the recipe with Python loops",
            "ours": ("convolve2d_loop", lambda: convolve2d_loop(small, m3)),
            "lax": None,
            "others": [("convolve2d (same data)", lambda: convolve2d(small, m3))],
            "repeat": 1 if quick else 3,
        }
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed calls per function (default 30, quick 5)"
    )
    parser.add_argument("--out", default=str(ROOT / "results" / "bench_convolution.json"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    repeat = args.repeat or (5 if args.quick else 30)

    rows = []
    for case in cases(jax.random.key(args.seed), args.quick):
        r = case.get("repeat", repeat)
        entry = {"case": case["case"], "results": []}
        ours_name, ours_fn = case["ours"]
        ours = timeit(ours_fn, r)
        entry["results"].append({"function": ours_name, **ours})
        if case["lax"] is not None:
            lax_name, lax_fn = case["lax"]
            ref = timeit(lax_fn, r)
            entry["results"].append({"function": lax_name, **ref})
            entry["ratio_ours_over_lax"] = ours["median_ms"] / ref["median_ms"]
            err = float(jnp.max(jnp.abs(ours_fn() - lax_fn().reshape(ours_fn().shape))))
            entry["max_abs_difference"] = err
        for name, fn in case["others"]:
            entry["results"].append({"function": name, **timeit(fn, r)})
        rows.append(entry)

    devices = jax.devices()
    report = {
        "benchmark": "convolution",
        "device": f"{jax.default_backend()} ×{len(devices)} ({devices[0].device_kind}; "
        f"{platform.machine()}, {os.cpu_count()} cores)",
        "versions": {"python": platform.python_version(), "jax": jax.__version__},
        "target": "convolve2d on a 512×512 image within 2× of lax.conv_general_dilated",
        "target_met": rows[0]["ratio_ours_over_lax"] <= 2.0,
        "quick": args.quick,
        "cases": rows,
    }
    print(f"device: {report['device']}, jax {jax.__version__}")
    print(f"{'case':<54} {'function':<32} {'median ms':>10} {'min ms':>9} {'1st call ms':>12}")
    for entry in rows:
        for i, res in enumerate(entry["results"]):
            label = entry["case"] if i == 0 else ""
            print(
                f"{label:<54} {res['function']:<32} {res['median_ms']:>10.3f} "
                f"{res['min_ms']:>9.3f} {res['first_call_ms']:>12.1f}"
            )
        if "ratio_ours_over_lax" in entry:
            print(
                f"{'':<54} {'ours / lax':<32} {entry['ratio_ours_over_lax']:>10.2f}   "
                f"(max |diff| {entry['max_abs_difference']:.2e})"
            )
    print(f"target (512×512, 3×3, ours ≤ 2 × lax): {'met' if report['target_met'] else 'NOT met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
