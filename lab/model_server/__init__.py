"""A tiny HunYuanDenseV1 model served by `transformers serve`: the lab's real OpenAI-compatible server.

Never shipped. ``build(path)`` writes a randomly initialised HunYuanDenseV1ForCausalLM (the
architecture of HY-MT1.5-1.8B at a toy size) with a small BPE tokenizer and a chat template;
``serve(path, port)`` starts `transformers serve` on it offline. Answers are gibberish, but every
byte goes through the same HTTP API, tokenizer and generation code as a real deployment.
"""
