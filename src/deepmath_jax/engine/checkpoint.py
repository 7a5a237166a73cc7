"""Checkpoints of a training run with Orbax: arrays (model, optimizer state, RNG streams, running
sums) and a JSON record (step, epoch, data position, the run's PRNG key, history).

Used by :func:`deepmath_jax.engine.train.fit` (``checkpoint_dir=``) so that a run stopped anywhere
resumes where it was and ends with the same parameters as an uninterrupted one (the book's
Keras runs of chapters 10 and 14 last minutes to hours; Keras's own answer is
``BackupAndRestore``).

The array tree is stored as a flat, numbered dictionary of its leaves, PRNG keys as their raw
``key_data``; restoring needs a template tree of the same structure (a freshly initialised
state), which also says which leaves are keys and checks every shape.

:func:`run_directory` gives each run configuration a folder of its own (named by a hash of its
settings), so that two runs in the same results folder — a ``--quick`` one and a full one, or
one with other hyper-parameters — never resume each other's checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _is_key(a: Any) -> bool:
    return hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jax.dtypes.prng_key)


def _leaf_names(n: int) -> list[str]:
    return [f"leaf_{i:05d}" for i in range(n)]


class Checkpointer:
    """Save and restore (array tree, JSON record) pairs numbered by training step.

    Args:
      directory: where checkpoints go (created); one sub-folder per saved step.
      max_to_keep: how many recent checkpoints are kept.
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_to_keep: int = 2) -> None:
        import orbax.checkpoint as ocp

        self._ocp = ocp
        self.directory = Path(directory).expanduser().absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, enable_async_checkpointing=False, create=True
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The most recent saved step, or None."""
        return self._manager.latest_step()

    def save(self, step: int, tree: Any, record: dict[str, Any]) -> None:
        """Save ``tree`` (arrays, PRNG keys allowed) and ``record`` (JSON) as ``step``."""
        ocp = self._ocp
        leaves = [jax.random.key_data(a) if _is_key(a) else a for a in jax.tree.leaves(tree)]
        arrays = dict(zip(_leaf_names(len(leaves)), leaves, strict=True))
        self._manager.save(
            int(step),
            args=ocp.args.Composite(
                arrays=ocp.args.StandardSave(arrays), record=ocp.args.JsonSave(record)
            ),
            force=True,
        )
        self._manager.wait_until_finished()

    def restore(self, template: Any, step: int | None = None) -> tuple[Any, dict[str, Any]]:
        """The tree saved at ``step`` (default: latest) in the structure of ``template``, and
        its record. Leaves come back with the template's dtypes and shardings."""
        ocp = self._ocp
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        leaves, treedef = jax.tree.flatten(template)
        names = _leaf_names(len(leaves))
        abstract = {}
        for name, leaf in zip(names, leaves, strict=True):
            data = jax.random.key_data(leaf) if _is_key(leaf) else leaf
            sharding = getattr(data, "sharding", None)
            abstract[name] = jax.ShapeDtypeStruct(np.shape(data), data.dtype, sharding=sharding)
        try:
            restored = self._manager.restore(
                step,
                args=ocp.args.Composite(
                    arrays=ocp.args.StandardRestore(abstract), record=ocp.args.JsonRestore()
                ),
            )
        except ValueError as err:  # Orbax lists every differing leaf: say what it means
            raise ValueError(
                f"the checkpoint at step {step} in {self.directory} does not hold this run's "
                f"state ({len(names)} arrays): it was written for another model or optimizer "
                f"(use another checkpoint_dir or delete it). Orbax: {str(err)[:300]}"
            ) from err
        out = []
        for name, leaf in zip(names, leaves, strict=True):
            value = restored["arrays"][name]
            if np.shape(value) != np.shape(jax.random.key_data(leaf) if _is_key(leaf) else leaf):
                raise ValueError(f"checkpoint array {name} has shape {np.shape(value)}, the "
                                 f"state expects {np.shape(leaf)}")
            if _is_key(leaf):
                value = jax.random.wrap_key_data(value, impl=jax.random.key_impl(leaf))
            out.append(value)
        return jax.tree.unflatten(treedef, out), dict(restored["record"])

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def run_directory(root: str | os.PathLike[str], settings: Mapping[str, Any], *,
                  prefix: str = "run") -> Path:
    """``root / f"{prefix}-{hash}"``: the checkpoint folder of the run described by ``settings``.

    ``settings`` (JSON-able: model sizes, optimizer, data, epochs, seed, …) is hashed
    (SHA-256 of its sorted JSON), so the same settings find their checkpoints again (a stopped
    run resumes, a finished one is not redone) and any other settings get a fresh folder.
    The settings are written beside the folder (``<name>.json``) for a person to read; a
    ``ValueError`` is raised if that file names other settings.
    """
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be a mapping, got {type(settings).__name__}")
    if not prefix or any(c in prefix for c in "/\\") or prefix.startswith("."):
        raise ValueError(f"prefix must be a plain file name, got {prefix!r}")
    try:
        text = json.dumps(settings, sort_keys=True, ensure_ascii=False)
    except TypeError as err:
        raise TypeError(f"settings must be JSON-able (numbers, strings, lists, dicts): {err}") from err
    name = f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    record = root / f"{name}.json"
    if record.is_file():
        if json.loads(record.read_text()) != json.loads(text):
            raise ValueError(f"{record} describes other settings than this run's: delete "
                             f"{root / name} and {record}")
    else:
        record.write_text(json.dumps(settings, sort_keys=True, indent=2, ensure_ascii=False))
    return root / name
