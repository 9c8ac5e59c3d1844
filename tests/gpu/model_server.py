# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The random-weight HY-MT1.5-1.8B model directory, and a stand-in server for it (issue 8, item 4).

``build DIR`` writes HY-MT1.5-1.8B's architecture (HunYuanDenseV1) with RANDOM bf16 weights, a
tokenizer whose vocabulary covers all of the model's ids, a chat template and a generation
config into DIR, which `transformers serve DIR` serves (tests/gpu/serving.py starts it). The
tokenizer is the lab's small byte-level BPE (lab/model_server/build.py) with its vocabulary
filled up to the model's 120818 ids by tokens that decode to " w<id>", so that every generated
id decodes to text and a streamed answer shows its first token; the model's text is gibberish.
``--small`` writes the same architecture and vocabulary at a size a CPU generates quickly, to
run the serving code path without a GPU.

``serve DIR`` is the FALLBACK for a host where `transformers serve` cannot start (its serving
extras fastapi, uvicorn, openai and pydantic are missing there): a minimal OpenAI-compatible
server around model.generate with aiohttp alone. It answers what the collection's translate
module asks: GET /health, GET /v1/models and POST /v1/chat/completions (non-streaming;
vLLM-style top-level sampling fields temperature, top_p, top_k, repetition_penalty, plus
ignore_eos, min_tokens and stop_token_ids). Requests waiting together are generated as one
left-padded batch (at most --max-batch, gathered while requests arrive less than --gather-ms
apart): static batching, not the continuous batching of vLLM or SGLang. GET /stats returns, per
completed request, the server's own times: queue wait, time to first token (arrival to the first
generated token, synchronised with the GPU), total time, batch size and token counts; POST
/stats/reset clears them.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# HY-MT1.5-1.8B (HunYuanDenseV1) as published: hidden 2048, 32 layers, 16 heads, 4 KV heads of 128,
# MLP 6144, vocabulary 120818, tied embeddings; the model class always applies the q/k RMS norms.
FULL_SIZE = dict(
    vocab_size=120818, hidden_size=2048, intermediate_size=6144, num_hidden_layers=32,
    num_attention_heads=16, num_key_value_heads=4, head_dim=128, tie_word_embeddings=True,
    use_qk_norm=True, max_position_embeddings=32768,
)
# The same architecture and vocabulary at a size a CPU generates 50 tokens with in a fraction of a second.
SMALL_SIZE = dict(FULL_SIZE, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=32)
# What the filler tokens of the tokenizer decode to: a space and "w<id>" (byte-level BPE writes the space as "Ġ").
FILLER = "\u0120w%d"


def build_tokenizer(path, vocab_size, seed=0):
    """The lab's tokenizer, its vocabulary filled up to ``vocab_size`` ids, saved into ``path``."""
    from transformers import AutoTokenizer

    sys.path.insert(0, str(ROOT))
    from lab.model_server import build as lab_build  # the lab's tokenizer and chat template

    with tempfile.TemporaryDirectory(prefix="hymt-tokenizer-") as scratch:
        lab_dir = Path(scratch)
        lab_build.build(lab_dir, seed=seed)  # also writes the lab's tiny model, which is not used here
        spec = json.loads((lab_dir / "tokenizer.json").read_text())
        vocab = spec["model"]["vocab"]
        taken = set(vocab)
        for token_id in range(len(vocab), vocab_size):
            token = FILLER % token_id
            if token in taken:
                raise SystemExit("filler token %r is already in the lab's vocabulary" % token)
            vocab[token] = token_id
        (lab_dir / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
        tokenizer = AutoTokenizer.from_pretrained(lab_dir)
    if len(tokenizer) != vocab_size:
        raise SystemExit("tokenizer has %d ids, expected %d" % (len(tokenizer), vocab_size))
    tokenizer.save_pretrained(path)
    return tokenizer


def build(path, small=False, device="cuda", seed=0):
    """Write the random-weight model directory; returns its description (architecture, size, config)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    sizes = SMALL_SIZE if small else FULL_SIZE
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(path, sizes["vocab_size"], seed)
    special = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                   pad_token_id=tokenizer.pad_token_id)
    config = AutoConfig.for_model("hunyuan_v1_dense", **sizes, **special)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    for key, value in special.items():
        setattr(model.generation_config, key, value)
    model.save_pretrained(path)
    description = {
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "size": "small (CPU smoke test)" if small else "full",
        "config": {k: sizes[k] for k in FULL_SIZE},
        "tokenizer_vocab": len(tokenizer),
        "seed": seed,
    }
    (path / "hymt-random-model.json").write_text(json.dumps(description, indent=2) + "\n")
    return description


def load(path, device):
    """(model, tokenizer) of a directory that build() wrote, in bf16 on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).to(device)
    model.eval()
    return model, tokenizer


class FirstToken:
    """A generate() streamer that notes when the first generated token exists (put #2; #1 is the prompt)."""

    def __init__(self):
        self.calls = 0
        self.at = None

    def put(self, value):  # value is already on the CPU: the GPU step is done
        self.calls += 1
        if self.calls == 2:
            self.at = time.perf_counter()

    def end(self):
        pass


class Engine:
    def __init__(self, model, tokenizer, max_batch, gather_s):
        import torch
        from transformers.generation.streamers import BaseStreamer

        self.torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.gather_s = gather_s
        self.queue = None
        self.stats = []
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.streamer_class = type("FirstTokenStreamer", (FirstToken, BaseStreamer), {})

    @staticmethod
    def key(params):
        return json.dumps(params, sort_keys=True)

    async def loop(self):
        self.queue = asyncio.Queue()
        while True:
            batch, held = [await self.queue.get()], []
            # Keep gathering while requests keep coming less than gather_s apart (clients of a batch that just
            # ended send their next requests within milliseconds of each other), up to max_batch.
            while len(batch) < self.max_batch:
                try:
                    item = await asyncio.wait_for(self.queue.get(), self.gather_s) if self.gather_s else self.queue.get_nowait()
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
                (batch if self.key(item["params"]) == self.key(batch[0]["params"]) else held).append(item)
            for item in held:
                self.queue.put_nowait(item)
            try:
                results = await asyncio.get_running_loop().run_in_executor(self.executor, self.generate, batch)
            except Exception as exc:  # answer every waiting request, keep serving
                for item in batch:
                    item["future"].set_exception(exc)
                continue
            for item, result in zip(batch, results):
                item["future"].set_result(result)

    def generate(self, batch):
        torch = self.torch
        params = batch[0]["params"]
        started = time.perf_counter()
        encoded = self.tokenizer([item["prompt"] for item in batch], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.model.device)
        max_new = params["max_tokens"]
        kwargs = dict(max_new_tokens=max_new, pad_token_id=self.tokenizer.pad_token_id)
        eos = params.get("stop_token_ids") or [self.tokenizer.eos_token_id]
        kwargs["eos_token_id"] = eos
        if params.get("ignore_eos"):
            kwargs["min_new_tokens"] = max_new
        elif params.get("min_tokens"):
            kwargs["min_new_tokens"] = min(params["min_tokens"], max_new)
        temperature = params.get("temperature", 1.0)
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=params.get("top_p", 1.0),
                          top_k=params.get("top_k", 50))
        else:
            kwargs.update(do_sample=False)
        if params.get("repetition_penalty"):
            kwargs["repetition_penalty"] = params["repetition_penalty"]
        streamer = self.streamer_class()
        with torch.inference_mode():
            output = self.model.generate(**encoded, streamer=streamer, **kwargs)
        finished = time.perf_counter()
        prompt_width = encoded["input_ids"].shape[1]
        known = len(self.tokenizer)
        results = []
        for row, item in enumerate(batch):
            generated = output[row, prompt_width:].tolist()
            count, reason = len(generated), "length"
            for i, token in enumerate(generated):
                if token in eos and not params.get("ignore_eos"):
                    count, reason = i + 1, "stop"
                    break
            generated = generated[:count]
            text = self.tokenizer.decode([t for t in generated if t < known and t not in eos], skip_special_tokens=True)
            prompt_tokens = int(encoded["attention_mask"][row].sum())
            results.append({
                "text": text, "finish_reason": reason, "prompt_tokens": prompt_tokens, "completion_tokens": count,
                "stats": {
                    "queue_s": started - item["arrived"],
                    "ttft_s": (streamer.at or finished) - item["arrived"],
                    "total_s": finished - item["arrived"],
                    "batch": len(batch),
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": count,
                },
            })
        return results


def make_app(engine, model_name, description):
    from aiohttp import web

    async def health(request):
        return web.json_response({"status": "ok"})

    async def models(request):
        return web.json_response({"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "hymt-gpu-test"}]})

    async def chat(request):
        arrived = time.perf_counter()
        try:
            body = await request.json()
            messages = body["messages"]
            prompt = engine.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": {"message": "bad request: %s" % exc}}, status=400)
        if body.get("stream"):
            return web.json_response({"error": {"message": "stream is not supported"}}, status=400)
        accepted = ("temperature", "top_p", "top_k", "repetition_penalty", "ignore_eos", "min_tokens", "stop_token_ids")
        params = {key: body[key] for key in accepted if body.get(key) is not None}
        params["max_tokens"] = int(body.get("max_tokens") or body.get("max_completion_tokens") or 512)
        future = asyncio.get_running_loop().create_future()
        await engine.queue.put({"prompt": prompt, "params": params, "arrived": arrived, "future": future})
        try:
            result = await future
        except Exception as exc:  # noqa: BLE001 - reported to the client
            return web.json_response({"error": {"message": "generation failed: %r" % exc}}, status=500)
        engine.stats.append(result["stats"])
        return web.json_response({
            "id": "chatcmpl-%s" % uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
            "model": model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result["text"]},
                         "finish_reason": result["finish_reason"]}],
            "usage": {"prompt_tokens": result["prompt_tokens"], "completion_tokens": result["completion_tokens"],
                      "total_tokens": result["prompt_tokens"] + result["completion_tokens"]},
        })

    async def stats(request):
        return web.json_response({"model": description, "requests": engine.stats})

    async def reset(request):
        engine.stats.clear()
        return web.json_response({"cleared": True})

    async def start_engine(app):
        app["engine"] = asyncio.get_running_loop().create_task(engine.loop())
        while engine.queue is None:
            await asyncio.sleep(0)

    app = web.Application()
    app.on_startup.append(start_engine)
    app.add_routes([web.get("/health", health), web.get("/v1/models", models),
                    web.post("/v1/chat/completions", chat), web.get("/stats", stats), web.post("/stats/reset", reset)])
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="write the random-weight model directory; prints its description as JSON")
    p.add_argument("dir", type=Path)
    p.add_argument("--device", default="cuda", help="where the weights are initialised before they are saved")
    p.add_argument("--small", action="store_true", help="the small size, for the CPU smoke test")
    p = sub.add_parser("serve", help="serve a built directory with the aiohttp stand-in (fallback)")
    p.add_argument("dir", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--device", default="cuda")
    p.add_argument("--model-name", help="the name /v1/models lists; default DIR as given")
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument("--gather-ms", type=float, default=10.0)
    opts = parser.parse_args()
    if opts.command == "build":
        print(json.dumps(build(opts.dir, opts.small, opts.device)), flush=True)
        return
    from aiohttp import web

    model, tokenizer = load(opts.dir, opts.device)
    description = json.loads((opts.dir / "hymt-random-model.json").read_text())
    description.update(max_batch=opts.max_batch, gather_ms=opts.gather_ms,
                       attention=getattr(model.config, "_attn_implementation", None))
    print(json.dumps(description), flush=True)
    engine = Engine(model, tokenizer, opts.max_batch, opts.gather_ms / 1000.0)
    web.run_app(make_app(engine, opts.model_name or str(opts.dir), description), host=opts.host, port=opts.port, print=None)


if __name__ == "__main__":
    main()
