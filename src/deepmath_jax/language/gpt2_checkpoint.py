"""GPT-2 checkpoints in the Hugging Face format — for the book's GPT-2 examples of chapters 17–18
*ChatGPT* (L8392–8427, L9241–9265, L9878–9914).

A Hugging Face GPT-2 folder holds ``config.json`` and ``model.safetensors`` — or, sharded,
``model.safetensors.index.json`` whose ``weight_map`` names the file of each tensor — (and the
tokenizer files ``vocab.json``/``merges.txt``, which :func:`deepmath_jax.language.bpe.gpt2_encoding`
reads). The tensors are read with ``safetensors`` (no PyTorch needed) into
:class:`deepmath_jax.language.gpt.GPT`: HF's ``Conv1D`` stores weights as (in, out), the layout of
``nnx.Linear`` kernels, so no transposition is needed. ``lm_head.weight``, when saved, must
equal ``wte`` (GPT-2 ties them).

Nothing is loaded on trust (a wrong checkpoint gives wrong logits, not an error, otherwise):

- ``config.json`` must describe the GPT-2 that :mod:`deepmath_jax.language.gpt` implements (tanh GELU,
  MLP of width 4n, attention scaled by 1/√r, tied unembedding); a configuration passed to
  :func:`load_gpt2` must agree with it, key by key, when the folder has one;
- every tensor must have the shape the configuration gives it (a mismatch names the tensor,
  both shapes and the configuration), none may be missing, and none may be left over: the only
  tensors allowed beside the parameters are ``lm_head.weight`` (tied) and the buffers that
  GPT-2 checkpoints written by ``transformers`` carry, ``h.<i>.attn.bias`` (the causal mask,
  which :class:`~deepmath_jax.language.gpt.CausalSelfAttention` builds itself — checked to be lower
  triangular) and ``h.<i>.attn.masked_bias`` (the masking constant), for the layers i of the
  configuration;
- PyTorch pickle files (``pytorch_model.bin``, ``.pt`` …) are refused, never unpickled
  (unpickling runs arbitrary code);
- an unreadable file (truncated or not safetensors, bad JSON, a missing key) is named.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepmath_jax.language.gpt import GPT, GPTConfig

GPT2_WEIGHTS_HELP = (
    "GPT-2's weights are a Hugging Face folder with config.json and model.safetensors (e.g. "
    "`huggingface-cli download gpt2 --local-dir gpt2` or `GPT2LMHeadModel.from_pretrained('gpt2')"
    ".save_pretrained('gpt2')` on a machine with internet); pass it with --gpt2 DIR or "
    "DEEPMATH_GPT2_DIR=DIR."
)
PICKLE_REFUSED = "pickle checkpoints are not loaded: convert to safetensors"
INDEX_NAME = "model.safetensors.index.json"
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# GPTConfig field → its config.json key
_CONFIG_KEYS = (("vocab_size", "vocab_size"), ("block_size", "n_positions"),
                ("n_layer", "n_layer"), ("n_head", "n_head"), ("n_embd", "n_embd"),
                ("layer_norm_eps", "layer_norm_epsilon"))


class CheckpointNotFoundError(FileNotFoundError):
    """No checkpoint at the given place (the message says how to obtain one)."""


def _is_pickle(p: Path) -> bool:
    return p.suffix in _PICKLE_SUFFIXES or p.name.endswith(".bin.index.json")


def _pickle_error(what: str) -> ValueError:
    return ValueError(
        f"{what}: {PICKLE_REFUSED} (unpickling runs arbitrary code); e.g. with transformers, "
        "`GPT2LMHeadModel.from_pretrained(DIR).save_pretrained(DIR)` writes model.safetensors"
    )


def _files(path: str | os.PathLike[str], *, need_config: bool = True) -> tuple[Path | None, Path]:
    """(config.json or ``None``, the weights: ``model.safetensors``, another ``.safetensors``
    file given directly, or the sharded ``model.safetensors.index.json``)."""
    p = Path(path)
    weights = None
    if p.is_file():
        if _is_pickle(p):
            raise _pickle_error(str(p))
        if not (p.name.endswith(".safetensors") or p.name.endswith(".safetensors.index.json")):
            raise ValueError(f"{p} is not a safetensors checkpoint: give the folder, its "
                             f"model.safetensors or its {INDEX_NAME}")
        folder, weights = p.parent, p
    else:
        folder = p
        if p.is_dir():
            for name in ("model.safetensors", INDEX_NAME):
                if (p / name).is_file():
                    weights = p / name
                    break
            else:
                pickles = sorted(q.name for q in p.iterdir() if _is_pickle(q))
                if pickles:
                    raise _pickle_error(f"{p} holds only {', '.join(pickles)}")
    config = folder / "config.json"
    config = config if config.is_file() else None
    if weights is None or (need_config and config is None):
        raise CheckpointNotFoundError(f"no config.json and model.safetensors in {folder}. {GPT2_WEIGHTS_HELP}")
    return config, weights


def find_gpt2_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The GPT-2 folder given, or ``$DEEPMATH_GPT2_DIR``; :class:`CheckpointNotFoundError` else."""
    candidate = path if path is not None else os.environ.get("DEEPMATH_GPT2_DIR")
    if not candidate:
        raise CheckpointNotFoundError(f"no GPT-2 checkpoint given. {GPT2_WEIGHTS_HELP}")
    config, _ = _files(candidate)
    return config.parent


def _read_json(file: Path) -> dict[str, Any]:
    try:
        c = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{file} is not a UTF-8 JSON file: {err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{file} is not valid JSON: {err.msg} at line {err.lineno}, column "
                         f"{err.colno}") from None
    if not isinstance(c, dict):
        raise ValueError(f"{file} must hold a JSON object, got a {type(c).__name__}")
    return c


def _config_from_json(c: dict[str, Any], file: Path) -> GPTConfig:
    """The :class:`GPTConfig` of a ``config.json``, refusing the GPT-2 variants not implemented
    (their logits would silently differ)."""
    values: dict[str, Any] = {}
    for field, key in _CONFIG_KEYS:
        if key == "layer_norm_epsilon":
            v = c.get(key, 1e-5)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise ValueError(f"{file}: {key!r} must be a positive number, got {v!r}")
            values[field] = float(v)
            continue
        if key not in c:
            raise ValueError(f"{file} has no {key!r} (GPTConfig.{field}); a GPT-2 config.json "
                             "gives vocab_size, n_positions, n_layer, n_head and n_embd")
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{file}: {key!r} must be a positive integer, got {v!r}")
        values[field] = v
    if c.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"{file} describes a {c.get('model_type')!r} model, not gpt2")
    act = c.get("activation_function", "gelu_new")
    if act not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"{file}: only GPT-2's tanh GELU is implemented, the checkpoint has "
                         f"'activation_function' = {act!r}")
    if c.get("n_inner") not in (None, 4 * values["n_embd"]):
        raise ValueError(f"{file}: only the MLP of width 4n = {4 * values['n_embd']} is "
                         f"implemented, the checkpoint has 'n_inner' = {c['n_inner']!r}")
    for key, implemented in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                             ("reorder_and_upcast_attn", False), ("add_cross_attention", False),
                             ("tie_word_embeddings", True)):
        if bool(c.get(key, implemented)) != implemented:
            raise ValueError(f"{file}: only {key!r} = {str(implemented).lower()} is implemented, "
                             f"the checkpoint has {c[key]!r}")
    try:
        return GPTConfig(**values)
    except ValueError as err:
        raise ValueError(f"{file}: {err}") from None


def load_config(path: str | os.PathLike[str]) -> GPTConfig:
    """:class:`GPTConfig` from a Hugging Face GPT-2 ``config.json`` (the folder, or a weights
    file beside it)."""
    config_file, _ = _files(path)
    return _config_from_json(_read_json(config_file), config_file)


def _check_agrees(config: GPTConfig, config_file: Path) -> None:
    """A configuration given to :func:`load_gpt2` must be the one of ``config.json``."""
    found = _config_from_json(_read_json(config_file), config_file)
    contradictions = [
        f"{key} = {getattr(found, field)!r} in {config_file}, but {field} = "
        f"{getattr(config, field)!r} in the given config"
        for field, key in _CONFIG_KEYS if getattr(found, field) != getattr(config, field)
    ]
    if contradictions:
        raise ValueError(f"the given config contradicts {config_file.name}: "
                         + "; ".join(contradictions))


def _read_safetensors(file: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError, TypeError) as err:
        raise ValueError(f"{file} cannot be read as safetensors (truncated, or not a "
                         f"safetensors file?): {err}") from None


def _read_tensors(weights: Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint: one ``.safetensors`` file, or the shards of an index
    (each tensor in the file its ``weight_map`` names, and nothing else in the shards)."""
    if not weights.name.endswith(".index.json"):
        return _read_safetensors(weights)
    weight_map = _read_json(weights).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
        raise ValueError(f"{weights} must have a 'weight_map' object {{tensor name: shard "
                         "file}}, got " + repr(weight_map)[:200])
    tensors: dict[str, np.ndarray] = {}
    for shard in sorted(set(weight_map.values())):
        if Path(shard).name != shard or not shard.endswith(".safetensors"):
            raise ValueError(f"{weights} names the shard {shard!r}: shards are .safetensors "
                             "files beside the index")
        if _is_pickle(Path(shard)):
            raise _pickle_error(f"{weights} names {shard}")
        file = weights.parent / shard
        if not file.is_file():
            raise ValueError(f"{weights} names the shard {shard}, which is not in {weights.parent}")
        held = _read_safetensors(file)
        listed = {name for name, where in weight_map.items() if where == shard}
        if listed - held.keys():
            raise ValueError(f"{file} lacks {sorted(listed - held.keys())[:5]}, which {weights.name} "
                             "puts there")
        if held.keys() - listed:
            raise ValueError(f"{file} holds {sorted(held.keys() - listed)[:5]}, which "
                             f"{weights.name} does not put there")
        tensors.update(held)
    return tensors


def _mapping(config: GPTConfig) -> dict[str, tuple]:
    """HF tensor name → path of the parameter in :class:`GPT`."""
    m: dict[str, tuple] = {
        "wte.weight": ("wte", "embedding"),
        "wpe.weight": ("wpe", "embedding"),
        "ln_f.weight": ("ln_f", "scale"),
        "ln_f.bias": ("ln_f", "bias"),
    }
    for i in range(config.n_layer):
        for hf, ours in (("ln_1", "ln_1"), ("ln_2", "ln_2")):
            m[f"h.{i}.{hf}.weight"] = ("h", i, ours, "scale")
            m[f"h.{i}.{hf}.bias"] = ("h", i, ours, "bias")
        for hf in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            sub, lin = hf.split(".")
            m[f"h.{i}.{hf}.weight"] = ("h", i, sub, lin, "kernel")
            m[f"h.{i}.{hf}.bias"] = ("h", i, sub, lin, "bias")
    return m


def _param(model: GPT, path: tuple) -> nnx.Param:
    obj = model
    for part in path:
        obj = obj[part] if isinstance(part, int) else getattr(obj, part)
    return obj


def _natural(name: str) -> tuple:
    """Sort key putting h.2 before h.10."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in name.split("."))


def _check_buffers(tensors: dict[str, np.ndarray], config: GPTConfig, where: Path) -> None:
    """The tensors that are not parameters: only the tied ``lm_head.weight`` and GPT-2's
    attention buffers of the configuration's layers; anything else is an error naming them."""
    params = _mapping(config)
    buffers = {f"h.{i}.attn.{b}" for i in range(config.n_layer) for b in ("bias", "masked_bias")}
    unused = sorted(set(tensors) - params.keys() - buffers - {"lm_head.weight"}, key=_natural)
    if unused:
        shown = ", ".join(unused[:8]) + (", …" if len(unused) > 8 else "")
        raise ValueError(
            f"{where} holds {len(unused)} tensors that the configuration {config} does not use: "
            f"{shown} (weights of more layers than config.json says, or of another model?); "
            "only lm_head.weight and the buffers h.<i>.attn.bias / h.<i>.attn.masked_bias may "
            "be present beside the parameters"
        )
    for name in sorted(buffers & tensors.keys(), key=_natural):
        t = tensors[name]
        if name.endswith("masked_bias"):
            ok = t.size == 1
        else:  # the causal mask, (1, 1, T, T) lower triangular
            ok = t.ndim == 4 and t.shape[:2] == (1, 1) and t.shape[2] == t.shape[3] and \
                np.array_equal(t[0, 0] != 0, np.tril(np.ones(t.shape[2:], bool)))
        if not ok:
            raise ValueError(f"tensor {name!r} of {where.name} (shape {t.shape}) is not GPT-2's "
                             "causal-mask buffer: another attention, which is not implemented")
    if "lm_head.weight" in tensors and not np.array_equal(tensors["lm_head.weight"], tensors["wte.weight"]):
        raise ValueError("lm_head.weight differs from wte.weight: only GPT-2's tied unembedding is supported")


def load_gpt2(path: str | os.PathLike[str], *, config: GPTConfig | None = None) -> GPT:
    """A :class:`GPT` with the weights of a Hugging Face GPT-2 checkpoint.

    Args:
      path: the folder, its ``model.safetensors`` or its ``model.safetensors.index.json``
        (sharded weights).
      config: the expected configuration; default: read from ``config.json``. When given and
        the folder has a ``config.json``, the two must agree (and ``config.json`` must describe
        the GPT-2 implemented); without a ``config.json`` it is the only description. Every
        tensor must have the shape this configuration gives it, and every tensor of the
        checkpoint must be used (see the module docstring for the buffers allowed).

    Raises:
      CheckpointNotFoundError: no checkpoint there.
      ValueError: a pickle checkpoint, an unreadable file, a configuration that is not the
        GPT-2 implemented or that contradicts ``config.json``, missing, extra or misshapen
        tensors — each naming the file, the key or the tensor.
    """
    config_file, weights_file = _files(path, need_config=config is None)
    if config is None:
        config = _config_from_json(_read_json(config_file), config_file)
    elif not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    elif config_file is not None:
        _check_agrees(config, config_file)
    tensors: dict[str, np.ndarray] = {}
    for name, t in _read_tensors(weights_file).items():
        short = name.removeprefix("transformer.")
        if short in tensors:
            raise ValueError(f"{weights_file} holds both {short} and transformer.{short}")
        tensors[short] = t
    mapping = _mapping(config)
    missing = [name for name in mapping if name not in tensors]
    if missing:
        raise ValueError(f"{weights_file} lacks {len(missing)} tensors of the configuration {config}, e.g. {missing[:3]}")
    _check_buffers(tensors, config, weights_file)
    model = nnx.eval_shape(lambda: GPT(config, rngs=nnx.Rngs(0)))  # shapes only, filled below
    for name, where in mapping.items():
        t = tensors[name]
        p = _param(model, where)
        expected = tuple(p.shape)
        if tuple(t.shape) != expected:
            raise ValueError(
                f"tensor {name!r} of {weights_file.name} has shape {tuple(t.shape)}, but the configuration "
                f"{config} needs {expected}"
            )
        p.set_value(jnp.asarray(t, dtype=jnp.float32))
    return model


def save_gpt2(model: GPT, folder: str | os.PathLike[str]) -> Path:
    """Write ``config.json`` and ``model.safetensors`` in the Hugging Face GPT-2 layout (the
    inverse of :func:`load_gpt2`), e.g. to hand a model trained here to ``transformers``."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    c = model.config
    tensors = {f"transformer.{name}": np.asarray(_param(model, where).get_value(), dtype=np.float32)
               for name, where in _mapping(c).items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": c.vocab_size,
        "n_positions": c.block_size, "n_ctx": c.block_size, "n_embd": c.n_embd, "n_layer": c.n_layer,
        "n_head": c.n_head, "layer_norm_epsilon": c.layer_norm_eps, "activation_function": "gelu_new",
        "tie_word_embeddings": True,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def top_next_tokens(model: GPT, encoding, text: str, k: int = 5) -> list[tuple[int, str, float]]:
    """The k most probable next tokens after ``text`` as (id, token as the book prints it,
    probability) — the book's tables of L8411–8423 and L9250–9265."""
    from deepmath_jax.language.bpe import display_token
    from deepmath_jax.language.gpt import next_token_probabilities

    ids = encoding.encode(text)
    p = np.asarray(next_token_probabilities(model, ids), dtype=np.float64)
    top = np.argsort(-p, kind="stable")[:k]
    return [(int(i), display_token(encoding.decode_single_token_bytes(int(i))), float(p[i])) for i in top]


def load_gpt2_with_tokenizer(path: str | os.PathLike[str] | None = None, vocab_dir: str | os.PathLike[str] | None = None):
    """(model, tiktoken encoding) from a GPT-2 folder (``path`` or ``$DEEPMATH_GPT2_DIR``); the
    tokenizer files come from ``vocab_dir`` or the same folder (vocab.json + merges.txt).
    Raises :class:`CheckpointNotFoundError` / ``TokenizerNotFoundError`` saying what is missing."""
    from deepmath_jax.language.bpe import gpt2_encoding

    folder = find_gpt2_dir(path)
    encoding = gpt2_encoding(vocab_dir if vocab_dir is not None else folder)
    return load_gpt2(folder), encoding
