"""Sessions: ``tests`` (default), ``tests-latest``, ``experiments``, ``lint``, ``bench``.

    nox -s tests                          # unit and property tests
    nox -s tests-latest                   # the same on Python 3.12 with the newest jax / flax
    nox -s tests -- -k smile              # arguments after -- go to pytest
    nox -s experiments                    # every chapter at the book's sizes, then results/REPORT.md
    nox -s experiments -- ch01 ch07       # some chapters
    nox -s experiments -- ch10 --quick    # small sizes where a chapter trains
    nox -s lint                           # ruff
    nox -s bench                          # every benchmarks/bench_*.py: speed vs Keras / PyTorch
    nox -s bench -- training --quick      # some benchmarks (names after --), options for them

Virtual environments are kept between runs (``.nox/``) and built with uv when it is there.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYTHON = None  # the interpreter nox runs with; the package needs Python >= 3.11

# printed by the test sessions: the versions the tests ran with
_VERSIONS = (
    "import sys, jax, jaxlib, flax, optax; "
    "print('python', sys.version.split()[0], '| jax', jax.__version__, '| jaxlib', "
    "jaxlib.__version__, '| flax', flax.__version__, '| optax', optax.__version__)"
)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and hypothesis property tests (HYPOTHESIS_PROFILE=dev for more examples)."""
    session.install("-e", ".[test]")
    session.run("python", "-c", _VERSIONS)
    args = session.posargs or ["-n", "auto", "--dist", "loadfile"]
    session.run("pytest", *args, env={"MPLBACKEND": "Agg"})


@nox.session(name="tests-latest", python="3.12")
def tests_latest(session: nox.Session) -> None:
    """The same tests on Python 3.12 with the newest jax / flax / optax that pip resolves.

    The environment is upgraded on every run (``--upgrade``), so a new release that breaks the
    package shows up here (and in CI) before users meet it. Without a ``python3.12`` on the
    PATH, nox's uv backend downloads one where it can (``--download-python``).
    """
    session.install("--upgrade", "-e", ".[test]")
    session.run("python", "-c", _VERSIONS)
    args = session.posargs or ["-n", "auto", "--dist", "loadfile"]
    session.run("pytest", *args, env={"MPLBACKEND": "Agg"})


@nox.session(python=PYTHON)
def experiments(session: nox.Session) -> None:
    """Reproduce the book chapter by chapter and write results/REPORT.md."""
    session.install("-e", ".")
    session.run("python", "experiments/run.py", *session.posargs, env={"MPLBACKEND": "Agg"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: style and common bugs."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "experiments", "noxfile.py", *session.posargs)


@nox.session(python=PYTHON, venv_backend="virtualenv")
def bench(session: nox.Session) -> None:
    """Benchmarks (``benchmarks/bench_*.py``), beside Keras 3 (and PyTorch when it can be had).

    Keras and tensorflow-cpu are installed in this session only. PyTorch is installed only from
    a local wheel (pip's ``--no-index``: the CPU build where the machine keeps one); otherwise
    its column is skipped with a message — never the multi-GB CUDA build. Arguments after ``--``
    that name a benchmark (``training``, ``bench_convolution.py``) select it; the others are
    passed to every selected benchmark. Uses pip (virtualenv), which sees local wheels.
    """
    from pathlib import Path

    session.install("-e", ".", "keras>=3", "tensorflow-cpu>=2.16")
    try:
        # only a local wheel (--no-index): never the CUDA build from the index; then its small
        # pure-Python dependencies (filelock, sympy, …) from the index
        session.install("--no-index", "--no-deps", "torch==2.13.0", silent=True)
        session.install("torch==2.13.0", silent=True)
    except Exception:  # noqa: BLE001 - nox raises its own CommandFailed; PyTorch is optional
        session.log("PyTorch: no local CPU wheel; its column is skipped (install torch's CPU build)")
    found = sorted(Path("benchmarks").glob("bench_*.py"))
    scripts = {p.stem.removeprefix("bench_"): p for p in found}
    names = [a.removeprefix("bench_").removesuffix(".py") for a in session.posargs]
    chosen = [scripts[n] for n in names if n in scripts] or list(scripts.values())
    options = [a for a, n in zip(session.posargs, names, strict=True) if n not in scripts]
    for script in chosen:
        session.run("python", str(script), *options, env={"MPLBACKEND": "Agg"})
