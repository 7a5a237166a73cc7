"""The experiment harness of ``experiments/``: one row per number the book prints beside ours,
and the report. Used by the chapter scripts, not by the library.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "experiment",
        "report",
        "site",
    ],
)
