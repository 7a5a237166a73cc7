"""GPT-2 checkpoints in the Hugging Face format — for the book's GPT-2 examples of chapters 17–18
*ChatGPT* (L8392–8427, L9241–9265, L9878–9914).

A Hugging Face GPT-2 folder holds ``config.json`` and ``model.safetensors`` (and the tokenizer
files ``vocab.json``/``merges.txt``, which :func:`deepmath_jax.bpe.gpt2_encoding` reads). The
tensors are read with ``safetensors`` (no PyTorch needed) into :class:`deepmath_jax.gpt.GPT`:
HF's ``Conv1D`` stores weights as (in, out), the layout of ``nnx.Linear`` kernels, so no
transposition is needed. ``lm_head.weight``, when saved, must equal ``wte`` (GPT-2 ties them).

Every tensor's shape is checked against the configuration: a mismatch raises ``ValueError``
naming the tensor, both shapes and the configuration; a missing tensor is named too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepmath_jax.gpt import GPT, GPTConfig

GPT2_WEIGHTS_HELP = (
    "GPT-2's weights are a Hugging Face folder with config.json and model.safetensors (e.g. "
    "`huggingface-cli download gpt2 --local-dir gpt2` or `GPT2LMHeadModel.from_pretrained('gpt2')"
    ".save_pretrained('gpt2')` on a machine with internet); pass it with --gpt2 DIR or "
    "DEEPMATH_GPT2_DIR=DIR."
)


class CheckpointNotFoundError(FileNotFoundError):
    """No checkpoint at the given place (the message says how to obtain one)."""


def _files(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    weights = p if p.is_file() else folder / "model.safetensors"
    config = folder / "config.json"
    if not weights.is_file() or not config.is_file():
        raise CheckpointNotFoundError(f"no config.json and model.safetensors in {folder}. {GPT2_WEIGHTS_HELP}")
    return config, weights


def find_gpt2_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The GPT-2 folder given, or ``$DEEPMATH_GPT2_DIR``; :class:`CheckpointNotFoundError` else."""
    candidate = path if path is not None else os.environ.get("DEEPMATH_GPT2_DIR")
    if not candidate:
        raise CheckpointNotFoundError(f"no GPT-2 checkpoint given. {GPT2_WEIGHTS_HELP}")
    config, _ = _files(candidate)
    return config.parent


def load_config(path: str | os.PathLike[str]) -> GPTConfig:
    """:class:`GPTConfig` from a Hugging Face GPT-2 ``config.json``."""
    config_file, _ = _files(path)
    c = json.loads(config_file.read_text())
    if c.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"{config_file} describes a {c.get('model_type')!r} model, not gpt2")
    if c.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"only GPT-2's tanh GELU is implemented, the checkpoint uses {c['activation_function']!r}")
    if c.get("n_inner") not in (None, 4 * c["n_embd"]):
        raise ValueError(f"only the MLP of width 4n is implemented, the checkpoint has n_inner = {c['n_inner']}")
    if not c.get("scale_attn_weights", True) or c.get("scale_attn_by_inverse_layer_idx") or c.get("reorder_and_upcast_attn"):
        raise ValueError("attention variants (unscaled, scaled by layer, reordered) are not implemented")
    return GPTConfig(
        vocab_size=c["vocab_size"], block_size=c["n_positions"], n_layer=c["n_layer"],
        n_head=c["n_head"], n_embd=c["n_embd"], layer_norm_eps=c.get("layer_norm_epsilon", 1e-5),
    )


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


def load_gpt2(path: str | os.PathLike[str], *, config: GPTConfig | None = None) -> GPT:
    """A :class:`GPT` with the weights of a Hugging Face GPT-2 checkpoint.

    Args:
      path: the folder (or its ``model.safetensors``).
      config: the expected configuration; default: read from ``config.json``. Every tensor must
        have the shape this configuration gives it.
    """
    from safetensors.numpy import load_file

    config = load_config(path) if config is None else config
    _, weights_file = _files(path)
    tensors = {k.removeprefix("transformer."): v for k, v in load_file(str(weights_file)).items()}
    model = nnx.eval_shape(lambda: GPT(config, rngs=nnx.Rngs(0)))  # shapes only, filled below
    mapping = _mapping(config)
    missing = [name for name in mapping if name not in tensors]
    if missing:
        raise ValueError(f"{weights_file} lacks {len(missing)} tensors of the configuration {config}, e.g. {missing[:3]}")
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
    if "lm_head.weight" in tensors and not np.array_equal(tensors["lm_head.weight"], tensors["wte.weight"]):
        raise ValueError("lm_head.weight differs from wte.weight: only GPT-2's tied unembedding is supported")
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
    from deepmath_jax.bpe import display_token
    from deepmath_jax.gpt import next_token_probabilities

    ids = encoding.encode(text)
    p = np.asarray(next_token_probabilities(model, ids), dtype=np.float64)
    top = np.argsort(-p, kind="stable")[:k]
    return [(int(i), display_token(encoding.decode_single_token_bytes(int(i))), float(p[i])) for i in top]


def load_gpt2_with_tokenizer(path: str | os.PathLike[str] | None = None, vocab_dir: str | os.PathLike[str] | None = None):
    """(model, tiktoken encoding) from a GPT-2 folder (``path`` or ``$DEEPMATH_GPT2_DIR``); the
    tokenizer files come from ``vocab_dir`` or the same folder (vocab.json + merges.txt).
    Raises :class:`CheckpointNotFoundError` / ``TokenizerNotFoundError`` saying what is missing."""
    from deepmath_jax.bpe import gpt2_encoding

    folder = find_gpt2_dir(path)
    encoding = gpt2_encoding(vocab_dir if vocab_dir is not None else folder)
    return load_gpt2(folder), encoding
