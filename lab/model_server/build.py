"""Write the tiny HunYuanDenseV1 model and its tokenizer to a directory (CPU, offline, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

# A few sentences in the languages the tests use, so the BPE vocabulary covers them.
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Translate the following segment into Chinese, without additional explanation.",
    "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：",
    "参考下面的翻译： 翻译成 参考上面的信息，把下面的文本翻译成",
    "It's on the house. The model is served through the mesh.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "<source></source><target></target><sn></sn>",
]
SPECIAL_TOKENS = ["<unk>", "<|bos|>", "<|eos|>", "<|pad|>", "<|user|>", "<|assistant|>"]
# Mirrors the shape of HY-MT's template: no system prompt unless given, one turn per message.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|user|>{{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}<|assistant|>{{ message['content'] }}{{ eos_token }}"
    "{% else %}{{ message['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build(path, seed=0):
    """Build the model into ``path``; returns the path. Rebuilt only when missing."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    if (path / "config.json").exists() and (path / "tokenizer.json").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|eos|>", pad_token="<|pad|>", unk_token="<unk>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)

    config = AutoConfig.for_model(
        "hunyuan_v1_dense", vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        tie_word_embeddings=True, use_qk_norm=True, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.max_new_tokens = 16
    model.save_pretrained(path)
    (path / "hymt-lab.json").write_text(json.dumps({"tiny": True, "seed": seed}))
    return path
