# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal OpenAI-compatible chat server around model.generate, for the serving benchmark (issue 8, item 4).

The GPU host has no network and lacks what `transformers serve` needs (fastapi, uvicorn, openai,
...), so this serves the model with aiohttp alone, which the host has. It answers what the
collection's translate module asks: GET /health, GET /v1/models and POST /v1/chat/completions
(non-streaming; vLLM-style top-level sampling fields temperature, top_p, top_k,
repetition_penalty, plus ignore_eos, min_tokens and stop_token_ids). Requests waiting together
are generated as one left-padded batch (at most --max-batch, gathered while requests arrive less
than --gather-ms apart): static batching, not the continuous batching of vLLM or SGLang.

GET /stats returns, per completed request, the server's own times: queue wait, time to first token
(arrival to the first generated token, synchronised with the GPU), total time, batch size and
token counts; POST /stats/reset clears them.

The model is HY-MT1.5-1.8B's architecture (HunYuanDenseV1) with RANDOM weights: its text is
gibberish. The tokenizer is the lab's small byte-level BPE (lab/model_server/build.py); ids the
tokenizer does not know are left out of the returned text but counted as generated tokens.
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


def build_model(layers=None, device="cuda", seed=0):
    """(model, tokenizer, description) with random bf16 weights on ``device``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    sys.path.insert(0, str(ROOT))
    from lab.model_server import build as lab_build  # the lab's tokenizer and chat template

    tokdir = Path(tempfile.mkdtemp(prefix="hymt-tokenizer-"))
    lab_build.build(tokdir, seed=seed)  # also writes the lab's tiny model, which is not used here
    tokenizer = AutoTokenizer.from_pretrained(tokdir)
    tokenizer.padding_side = "left"
    settings = dict(FULL_SIZE, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
    if layers:
        settings["num_hidden_layers"] = layers
    config = AutoConfig.for_model("hunyuan_v1_dense", **settings)
    torch.manual_seed(seed)
    with torch.device(device):
        try:
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        except TypeError:  # transformers before dtype= replaced torch_dtype=
            model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    description = {
        "architecture": type(model).__name__,
        "parameters": params,
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else device,
        "attention": getattr(model.config, "_attn_implementation", None),
        "config": {k: settings[k] for k in FULL_SIZE},
        "tokenizer_vocab": len(tokenizer),
    }
    return model, tokenizer, description


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
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model-name", default="hy-mt1.5-1.8b-random")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--gather-ms", type=float, default=10.0)
    parser.add_argument("--layers", type=int, help="fewer layers, for a quick test on a CPU")
    opts = parser.parse_args()
    from aiohttp import web

    model, tokenizer, description = build_model(opts.layers, opts.device)
    description.update(max_batch=opts.max_batch, gather_ms=opts.gather_ms)
    print(json.dumps(description), flush=True)
    engine = Engine(model, tokenizer, opts.max_batch, opts.gather_ms / 1000.0)
    web.run_app(make_app(engine, opts.model_name, description), host=opts.host, port=opts.port, print=None)


if __name__ == "__main__":
    main()
