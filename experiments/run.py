"""Run the chapters' experiments and write ``results/REPORT.md``.

    python experiments/run.py                 # every chapter, at the book's sizes
    python experiments/run.py ch01 ch07       # some chapters
    python experiments/run.py --quick         # small sizes where a chapter trains (CI)

Each chapter runs in its own Python process (so that one chapter's float64 switch or memory
does not leak into the next), writes ``results/chNN_<slug>/`` and the report is rebuilt from
every chapter found under the results folder. Exits 1 when a chapter raised or a book
number is neither matched, explained nor skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # running from a checkout without installing

from deepmath_jax.book.report import chapter_ok, load_results, write_report  # noqa: E402
from deepmath_jax.book.site import write_site  # noqa: E402


def discover() -> dict[str, Path]:
    """``{"ch01": experiments/ch01_derivative.py, ...}``."""
    scripts = {}
    for path in sorted(HERE.glob("ch[0-9][0-9]_*.py")):
        scripts[path.name[:4]] = path
    return scripts


def normalise(chapter: str) -> str:
    """``"7"``, ``"ch7"``, ``"ch07"``, ``"ch07_descent"`` → ``"ch07"``."""
    m = re.fullmatch(r"(?:ch)?0*(\d{1,2})(?:_\w*)?", chapter.strip().lower())
    if not m:
        raise SystemExit(f"unknown chapter {chapter!r}: use ch01 … ch18")
    return f"ch{int(m.group(1)):02d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter ids (ch01 … ch18); all when omitted")
    parser.add_argument("--quick", action="store_true", help="small sizes where a chapter trains")
    parser.add_argument("--out", default="results", help="results folder (default: results)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every experiment (default 0)")
    parser.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir / local data")
    args, extra = parser.parse_known_args(argv)

    scripts = discover()
    wanted = [normalise(c) for c in args.chapters] or list(scripts)
    missing = [c for c in wanted if c not in scripts]
    if missing:
        print(f"no experiment for {', '.join(missing)} (have: {', '.join(scripts)})", file=sys.stderr)
        return 2

    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent / "src"), env.get("PYTHONPATH")]))
    out = Path(args.out)
    failed: list[str] = []
    timings: list[tuple[str, float, int]] = []
    for i, chapter in enumerate(wanted, 1):
        cmd = [sys.executable, str(scripts[chapter]), "--out", str(out), "--seed", str(args.seed)]
        if args.quick:
            cmd.append("--quick")
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        cmd += extra
        print(f"\n[{i}/{len(wanted)}] {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        code = subprocess.call(cmd, env=env)
        timings.append((chapter, time.perf_counter() - start, code))
        if code != 0:
            failed.append(chapter)

    report = write_report(out)
    print(f"\nReport: {report}")
    results = {d["chapter"]: d for d in load_results(out)}
    if results:  # the pages of results/site/: the report to browse, figures inline
        site = write_site(out, repo_root=HERE.parent)
        print(f"Site:   {site.resolve().as_uri()}")
    for chapter, seconds, code in timings:
        data = results.get(chapter)
        rows = len(data["rows"]) if data else 0
        state = "ok" if code == 0 and data and chapter_ok(data) else "FAILED"
        print(f"  {chapter}: {state:<6} {rows:4d} rows  {seconds:7.1f} s")
    if failed:
        print(f"Failed chapters: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
