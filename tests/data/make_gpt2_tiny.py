"""Make the small GPT-2-shaped checkpoint of ``tests/data/gpt2-tiny`` and its reference logits.

Random weights from ``transformers`` (PyTorch), saved in the Hugging Face format
(``config.json`` + ``model.safetensors``): the real GPT-2 file layout, offline. The reference
logits and attention patterns are computed by ``transformers`` itself; the test
``test_gpt2_checkpoint_parity`` loads the checkpoint into ``deepmath_jax.language.gpt.GPT`` and compares.

    PYTHONPATH=src python tests/data/make_gpt2_tiny.py      # needs torch and transformers
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

OUT = Path(__file__).resolve().parent / "gpt2-tiny"


def main() -> None:
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=101, n_positions=32, n_embd=32, n_layer=2, n_head=4, initializer_range=0.2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=100, eos_token_id=100,
    )
    # The eager attention returns the attention patterns (the fused one does not).
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).eval()
    # Weights 10× GPT-2's scale give logits of order 1-10 and peaked attention patterns.
    # GPT-2's init leaves biases and LayerNorms at 0 and 1: randomise them so the test sees them.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(OUT, safe_serialization=True)
    (OUT / "generation_config.json").unlink(missing_ok=True)  # not needed to load the weights
    ids = torch.randint(0, config.vocab_size, (2, 17), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(ids, output_attentions=True)
    np.savez_compressed(
        OUT / "reference.npz",
        input_ids=ids.numpy().astype(np.int32),
        logits=out.logits.numpy().astype(np.float32),
        attention=np.stack([a.numpy() for a in out.attentions]).astype(np.float32),  # (layers, B, nh, T, T)
    )
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
