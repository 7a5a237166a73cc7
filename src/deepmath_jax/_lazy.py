"""Lazy submodules: ``deepmath_jax.calculus.newton`` is imported when it is first used.

Each package's ``__init__`` lists its modules once; importing ``deepmath_jax`` (or one of its
subpackages) then costs nothing until a module is touched — jax, flax and TensorFlow are only
loaded by the modules that need them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType

__all__ = ["attach"]


def attach(
    package: str, submodules: Sequence[str]
) -> tuple[Callable[[str], ModuleType], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose ``submodules`` are
    imported on first access (PEP 562)."""
    names = sorted(submodules)

    def __getattr__(name: str) -> ModuleType:
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}; its modules: {', '.join(names)}")

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__, list(names)
