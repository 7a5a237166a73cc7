"""Loading Hugging Face GPT-2 checkpoints (chapters 17–18): nothing on trust.

Tiny GPT-2-shaped checkpoints are written in tmp_path with ``safetensors.numpy.save_file``
from the tensors of ``tests/data/gpt2-tiny`` (whose ``reference.npz`` holds the logits of
transformers' ``GPT2LMHeadModel``): sharded, in the original OpenAI layout with its attention
buffers, with layers more than ``config.json`` says, with a configuration that contradicts the
one given, as pickles, truncated, garbage.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file, save_file

from deepmath_jax.language.gpt import GPT, GPTConfig
from deepmath_jax.language.gpt2_checkpoint import (
    CheckpointNotFoundError,
    find_gpt2_dir,
    load_config,
    load_gpt2,
    save_gpt2,
)

TINY = Path(__file__).parent / "data" / "gpt2-tiny"
TINY_CONFIG = GPTConfig(vocab_size=101, block_size=32, n_layer=2, n_head=4, n_embd=32)
PICKLE = "pickle checkpoints are not loaded: convert to safetensors"


@pytest.fixture(scope="module")
def reference():
    return np.load(TINY / "reference.npz")


@pytest.fixture()
def tensors():
    return load_file(str(TINY / "model.safetensors"))


def config_json() -> dict:
    return json.loads((TINY / "config.json").read_text())


def write(folder: Path, tensors: dict | None, config: dict | None = None) -> Path:
    """A checkpoint folder: ``model.safetensors`` (unless ``tensors`` is None) and
    ``config.json`` (unless ``config`` is None)."""
    folder.mkdir(parents=True, exist_ok=True)
    if tensors is not None:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def assert_reference_logits(model: GPT, reference) -> None:
    """The logits of transformers' GPT2LMHeadModel, to the 1e-5 of test_gpt's parity test."""
    logits = model(jnp.asarray(reference["input_ids"]))
    np.testing.assert_allclose(logits, reference["logits"], atol=1e-5, rtol=0)


def shard(folder: Path, tensors: dict, config: dict, *, split=lambda name: "h.1." in name) -> Path:
    """Two shards and their index, as ``save_pretrained(max_shard_size=…)`` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {1: "model-00001-of-00002.safetensors", 2: "model-00002-of-00002.safetensors"}
    parts = {1: {}, 2: {}}
    for name, t in tensors.items():
        parts[2 if split(name) else 1][name] = t
    for i, part in parts.items():
        save_file(part, str(folder / names[i]), metadata={"format": "pt"})
    weight_map = {name: names[i] for i, part in parts.items() for name in part}
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": int(sum(t.nbytes for t in tensors.values()))},
         "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


# --------------------------------------------------------------------------------------------
# Checkpoints that load
# --------------------------------------------------------------------------------------------


def test_sharded_checkpoint_loads_with_the_reference_logits(tensors, reference, tmp_path):
    folder = shard(tmp_path / "sharded", tensors, config_json())
    assert not (folder / "model.safetensors").exists()
    assert_reference_logits(load_gpt2(folder), reference)
    assert_reference_logits(load_gpt2(folder / "model.safetensors.index.json"), reference)
    assert load_config(folder) == TINY_CONFIG and find_gpt2_dir(folder) == folder


def test_sharded_checkpoint_errors_name_the_shard(tensors, tmp_path):
    folder = shard(tmp_path / "s", tensors, config_json())
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ValueError, match=r"names the shard model-00002-of-00002.safetensors, which is not in"):
        load_gpt2(folder)
    # a shard holding a tensor that the index puts elsewhere (or nowhere)
    save_file({"h.1.ln_1.bias": tensors["transformer.h.1.ln_1.bias"]},
              str(folder / "model-00002-of-00002.safetensors"))
    with pytest.raises(ValueError, match=r"model-00002-of-00002.safetensors lacks .*h.1.attn"):
        load_gpt2(folder)
    index["weight_map"] = {"transformer.wte.weight": "../model.safetensors"}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"shards are .safetensors files beside the index"):
        load_gpt2(folder)
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}}))
    with pytest.raises(ValueError, match=r"must have a 'weight_map' object"):
        load_gpt2(folder)


def test_openai_layout_with_attention_buffers_loads(tensors, reference, tmp_path):
    """The original gpt2 upload: names without ``transformer.``, the causal-mask buffer
    ``h.<i>.attn.bias`` (1, 1, T, T) and ``h.<i>.attn.masked_bias``, a tied ``lm_head``."""
    plain = {k.removeprefix("transformer."): v for k, v in tensors.items()}
    for i in range(2):
        plain[f"h.{i}.attn.bias"] = np.tril(np.ones((32, 32), np.float32))[None, None]
        plain[f"h.{i}.attn.masked_bias"] = np.array(-1e4, np.float32)
    plain["lm_head.weight"] = plain["wte.weight"]
    assert_reference_logits(load_gpt2(write(tmp_path / "openai", plain, config_json())), reference)
    # a mask that is not causal would be another attention
    plain["h.1.attn.bias"] = np.ones((1, 1, 32, 32), np.float32)
    with pytest.raises(ValueError, match=r"'h.1.attn.bias' .* is not GPT-2's causal-mask buffer"):
        load_gpt2(write(tmp_path / "open", plain, config_json()))
    both = dict(tensors) | {"wte.weight": plain["wte.weight"]}
    with pytest.raises(ValueError, match=r"holds both wte.weight and transformer.wte.weight"):
        load_gpt2(write(tmp_path / "both", both, config_json()))


def test_given_config_agreeing_with_config_json_or_without_it(tensors, reference, tmp_path):
    assert_reference_logits(load_gpt2(TINY, config=TINY_CONFIG), reference)
    alone = write(tmp_path / "weights-only", tensors)  # no config.json: the given one is all
    assert_reference_logits(load_gpt2(alone, config=TINY_CONFIG), reference)
    with pytest.raises(CheckpointNotFoundError, match="config.json and model.safetensors"):
        load_gpt2(alone)
    with pytest.raises(TypeError, match="config must be a GPTConfig"):
        load_gpt2(TINY, config=dataclasses.asdict(TINY_CONFIG))


# --------------------------------------------------------------------------------------------
# Checkpoints refused
# --------------------------------------------------------------------------------------------


def test_weights_of_more_layers_than_config_json_are_refused(tmp_path):
    """config.json says 2 layers, model.safetensors holds 3: the third one would be dropped."""
    deeper = GPT(dataclasses.replace(TINY_CONFIG, n_layer=3), rngs=nnx.Rngs(0))
    folder = save_gpt2(deeper, tmp_path / "deeper")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["n_layer"] = 2
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"model.safetensors holds 12 tensors that the configuration .* does not "
                                         r"use: h.2.attn.c_attn.bias, h.2.attn.c_attn.weight, .*more layers"):
        load_gpt2(folder)
    with pytest.raises(ValueError, match=r"holds 12 tensors .* h\.2\."):
        load_gpt2(folder, config=TINY_CONFIG)


def test_unknown_tensors_are_listed(tensors, tmp_path):
    extra = dict(tensors) | {"transformer.h.0.attn.q_norm.weight": np.ones(8, np.float32),
                             "score.weight": np.ones((2, 32), np.float32)}
    with pytest.raises(ValueError, match=r"holds 2 tensors .* h.0.attn.q_norm.weight, score.weight"):
        load_gpt2(write(tmp_path / "extra", extra, config_json()))


@pytest.mark.parametrize("key, value", [("activation_function", "relu"), ("scale_attn_weights", False),
                                        ("scale_attn_by_inverse_layer_idx", True), ("n_inner", 64),
                                        ("tie_word_embeddings", False)])
def test_given_config_does_not_skip_the_checks_of_config_json(tensors, tmp_path, key, value):
    """A config.json describing a variant that gpt.GPT does not implement is refused, also
    when a GPTConfig is given (which used to skip config.json: logits off by up to 0.25)."""
    cfg = config_json() | {key: value}
    folder = write(tmp_path / "variant", tensors, cfg)
    for kwargs in ({"config": TINY_CONFIG}, {}):
        with pytest.raises(ValueError, match=rf"config.json: only .*'{key}'.* {value!r}"):
            load_gpt2(folder, **kwargs)


def test_given_config_contradicting_config_json_names_key_and_values(tmp_path):
    with pytest.raises(ValueError, match=r"contradicts config.json: n_layer = 2 in .*config.json, but n_layer = 1 "
                                         r"in the given config"):
        load_gpt2(TINY, config=dataclasses.replace(TINY_CONFIG, n_layer=1))
    with pytest.raises(ValueError, match=r"n_positions = 32 in .*, but block_size = 16 .*; layer_norm_epsilon = "
                                         r"1e-05 in .*, but layer_norm_eps = 0.001"):
        load_gpt2(TINY, config=dataclasses.replace(TINY_CONFIG, block_size=16, layer_norm_eps=1e-3))


class _Trap:
    """Unpickling this writes a file: proof that a refused pickle was never unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_checkpoints_are_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    folder = tmp_path / "torch"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Trap(marker)))
    (folder / "config.json").write_text(json.dumps(config_json()))
    for call in (lambda: load_gpt2(folder), lambda: load_gpt2(folder / "pytorch_model.bin"),
                 lambda: load_gpt2(folder / "pytorch_model.bin", config=TINY_CONFIG),
                 lambda: load_config(folder), lambda: find_gpt2_dir(folder)):
        with pytest.raises(ValueError, match=PICKLE):
            call()
    assert not marker.exists()
    with pytest.raises(ValueError, match=rf"model.pt: {PICKLE}"):
        load_gpt2((folder / "pytorch_model.bin").rename(folder / "model.pt"))
    with pytest.raises(ValueError, match="is not a safetensors checkpoint"):
        load_gpt2(folder / "config.json")
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_unreadable_safetensors_file_is_named(tmp_path, damage):
    folder = tmp_path / damage
    shutil.copytree(TINY, folder)
    raw = (folder / "model.safetensors").read_bytes()
    cut = {"truncated": raw[: len(raw) // 2], "garbage": b"not a safetensors file " * 8, "empty": b""}
    (folder / "model.safetensors").write_bytes(cut[damage])
    with pytest.raises(ValueError, match=r"model.safetensors cannot be read as safetensors \(truncated"):
        load_gpt2(folder)


def test_malformed_config_json_is_named(tensors, tmp_path):
    folder = write(tmp_path / "c", tensors)
    (folder / "config.json").write_text('{"n_embd": 32, "n_head": 4,')
    with pytest.raises(ValueError, match=r"config.json is not valid JSON: .* line 1, column"):
        load_gpt2(folder)
    with pytest.raises(ValueError, match=r"config.json is not valid JSON"):
        load_gpt2(folder, config=TINY_CONFIG)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"config.json must hold a JSON object, got a list"):
        load_config(folder)
    cfg = config_json()
    del cfg["n_head"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=rf"{folder / 'config.json'} has no 'n_head'"):
        load_gpt2(folder)
    (folder / "config.json").write_text(json.dumps(cfg | {"n_head": "4"}))
    with pytest.raises(ValueError, match=r"config.json: 'n_head' must be a positive integer, got '4'"):
        load_config(folder)
    (folder / "config.json").write_text(json.dumps(cfg | {"n_head": 5}))
    with pytest.raises(ValueError, match=r"config.json: n_embd = 32 must be a multiple of n_head = 5"):
        load_config(folder)
