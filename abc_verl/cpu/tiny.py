"""A tiny random Qwen3 and its tokenizer, built offline, for checks and tests that run on CPU.

    python -m abc_verl.cpu.tiny OUT_DIR       # writes a Hugging Face model folder (config, weights, tokenizer)

The tokenizer is a byte-level BPE trained in a second on a few lines of maths text, with Qwen's special
tokens and a ChatML chat template, so prompts render as they do for Qwen3-*-Base. The model has the
Qwen3 architecture (hidden 64, 2 layers, head_dim 32) and random weights: it exercises every code path, not
quality. head_dim 32 is the smallest vLLM's CPU attention accepts (it rejects 16), so vLLM can serve it too.
"""

import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# vLLM's CPU attention kernels take head_dim 32, 64, 80, ... (not 16): "Unsupported CPU attention configuration"
TINY_HEAD_DIM = 32
_CORPUS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Let x = 3. Then 2x + 1 = 7, so the answer is \\boxed{7}.",
    "The sum of the roots is -b/a = \\frac{1}{2}; the product is 0.5 and 50\\% of 14 is 7.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000 + - * / = ( ) [ ] { } ^ _ \\sqrt \\pi \\dfrac \\cdot",
    "Find the number of ordered pairs (a, b) of integers such that a^2 + b^2 = 25.",
    "Therefore the final answer is 204. We check: 17 * 12 = 204, which is correct.",
]


def build_tokenizer(vocab_size: int = 512):
    """A PreTrainedTokenizerFast with Qwen's special tokens and a ChatML template; no network."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_qwen3(out_dir: str | Path, seed: int = 0, hidden_size: int = 64, num_layers: int = 2) -> Path:
    """Write a random Qwen3ForCausalLM and its tokenizer to `out_dir` (Hugging Face format); return the path."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=TINY_HEAD_DIM,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(build_tiny_qwen3(sys.argv[1]))
