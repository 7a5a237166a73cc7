"""Sessions: ``tests`` (default), ``experiments``, ``lint``.

    nox -s tests                          # unit and property tests
    nox -s tests -- -k smile              # arguments after -- go to pytest
    nox -s experiments                    # every chapter at the book's sizes, then results/REPORT.md
    nox -s experiments -- ch01 ch07       # some chapters
    nox -s experiments -- ch10 --quick    # small sizes where a chapter trains
    nox -s lint                           # ruff

Virtual environments are kept between runs (``.nox/``) and built with uv when it is there.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYTHON = None  # the interpreter nox runs with; the package needs Python >= 3.11


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and hypothesis property tests (HYPOTHESIS_PROFILE=dev for more examples)."""
    session.install("-e", ".[test]")
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
