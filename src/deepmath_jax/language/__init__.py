"""Language models — chapters 17 and 18 *ChatGPT*: corpus statistics, byte-pair encoding,
embeddings, positions, attention, GELU, a GPT in Flax NNX and GPT-2 checkpoints.
"""

from deepmath_jax._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    [
        "attention",
        "bpe",
        "corpus",
        "embedding",
        "gelu",
        "gpt",
        "gpt2_checkpoint",
        "positions",
        "tensor_product",
        "unembedding",
    ],
)
