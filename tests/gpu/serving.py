# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model-serving benchmark on a real GPU (issue 8, item 4).

Run it through tests/gpu/run.sh (ansible-core and the collection path). It starts
tests/gpu/model_server.py (HY-MT1.5-1.8B's architecture with random bf16 weights on the GPU, behind
a minimal OpenAI-compatible API), then runs the collection's module hymt.gpu_mesh.translate with
mode=benchmark against it at concurrency 1 and 8, every request forced to 50 generated tokens
(max_tokens 50, ignore_eos). Latency percentiles and tokens/s are the module's own; time to first
token and p95 come from the server's per-request times. Writes its section of RESULTS_DIR/gpu.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import acceptance  # noqa: E402
import page  # noqa: E402

HEADING = page.SERVING_HEADING
BEGIN = "<!-- BEGIN serving: written by tests/gpu/run.sh -->"
END = "<!-- END serving -->"
TOKENS = 50
# HY-MT1.5's technical report: about 0.18 s average response time for 50 tokens (HY-MT1.5-1.8B).
REPORT_S_PER_50 = 0.18
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "It's on the house. The model is served through the mesh.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, data=None, timeout=30):
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def start_server(results, args):
    port = free_port()
    log = open(results / "model-server.log", "ab")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "model_server.py"),
                             "--port", str(port)] + args,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false"))
    base = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("model_server.py exited with %s; see %s" % (proc.returncode, results / "model-server.log"))
        try:
            http(base + "/health", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("model_server.py did not answer /health within 600 s")


def stop_server(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def bench(base, requests, concurrency):
    """The translate module's benchmark result and the server's per-request times."""
    http(base + "/stats/reset", data=b"")
    args = {
        "url": base, "mode": "benchmark", "texts": TEXTS, "target_language": "zh", "source_language": "en",
        "benchmark_requests": requests, "benchmark_concurrency": concurrency, "max_tokens": TOKENS,
        "sampling": {"ignore_eos": True}, "timeout": 300, "retries": 0, "wait_timeout": 60,
    }
    result = acceptance.ansible_result(acceptance.ansible("hymt.gpu_mesh.translate", json.dumps(args)))
    if result.get("failed") or not result.get("benchmark"):
        raise SystemExit("translate benchmark failed: %s" % json.dumps(result)[:3000])
    return args, result, http(base + "/stats")


def pct(values, fraction):
    ordered = sorted(values)
    return ordered[max(1, int(math.ceil(fraction * len(ordered)))) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="directory for gpu.md, serving.json and model-server.log")
    parser.add_argument("--requests-1", type=int, default=20, help="requests at concurrency 1")
    parser.add_argument("--requests-8", type=int, default=64, help="requests at concurrency 8")
    parser.add_argument("--server-arg", action="append", default=[], help="extra model_server.py argument (repeatable)")
    opts = parser.parse_args()
    opts.results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc, base = start_server(opts.results, opts.server_arg)
    load_s = time.monotonic() - started
    runs = {}
    try:
        bench(base, 8, 8)  # warm-up: CUDA kernels, allocator, batch shapes; not recorded
        bench(base, 2, 1)
        for concurrency, requests in ((1, opts.requests_1), (8, opts.requests_8)):
            runs[concurrency] = bench(base, requests, concurrency)
            print("concurrency %d: %s" % (concurrency, json.dumps(runs[concurrency][1]["benchmark"])), flush=True)
    finally:
        stop_server(proc)
    model = runs[1][2]["model"]
    (opts.results / "serving.json").write_text(json.dumps({"model": model, "load_s": load_s, "runs": {
        c: {"module_args": a, "module_result": r, "server": s} for c, (a, r, s) in runs.items()}}, indent=2) + "\n")

    gpus, driver = acceptance.reference_gpus(["index", "name", "memory.total", "driver_version", "uuid", "pci.bus_id",
                                              "compute_cap", "mig.mode.current", "mig.mode.pending",
                                              "ecc.mode.current", "persistence_mode"])
    host = acceptance.reference_host()
    import torch
    versions = []
    for name in ("torch", "transformers", "aiohttp", "ansible-core"):
        try:
            versions.append("%s %s" % (name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append("%s absent" % name)
    rows = []
    for concurrency, (args, result, server) in runs.items():
        b = result["benchmark"]
        reqs = server["requests"]
        ttft = [r["ttft_s"] for r in reqs]
        total = [r["total_s"] for r in reqs]
        tokens = [r["completion_tokens"] for r in reqs]
        per_request_tps = [r["completion_tokens"] / r["total_s"] for r in reqs]
        s_per_50 = b["latency_s"]["p50"] * TOKENS / statistics.median(tokens)
        rows.append("| %d | %d/%d | %s | %.3f / %.3f | %.3f / %.3f / %.3f / %.3f | %.3f | %.1f | %.1f | %.3f | %.1f x |" % (
            concurrency, b["succeeded"], b["requests"],
            "%d-%d (median %d)" % (min(tokens), max(tokens), statistics.median(tokens)),
            statistics.median(ttft), pct(ttft, 0.95),
            b["latency_s"]["p50"], pct(total, 0.95), b["latency_s"]["p90"], b["latency_s"]["p99"],
            statistics.median([r["batch"] for r in reqs]),
            b["completion_tokens_per_s"], statistics.median(per_request_tps),
            s_per_50, s_per_50 / REPORT_S_PER_50))
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "card": "%d x %s, %s MiB" % (len(gpus), ", ".join(sorted({g["name"] for g in gpus})),
                                     ", ".join(sorted({str(g["memory_total_mib"]) for g in gpus}))),
        "driver": "%s (%s kernel module %s), CUDA %s (torch built for CUDA %s)" % (
            driver, host["kernel_module_flavour"], host["kernel_module_version"], host["cuda_version"], torch.version.cuda),
        "software": "Python %s, %s" % (platform.python_version(), ", ".join(versions)),
        "model": "%s, %.3f B parameters, %s, random weights (seed 0), attention %s; config %s" % (
            model["architecture"], model["parameters"] / 1e9, model["dtype"], model["attention"],
            ", ".join("%s=%s" % item for item in model["config"].items())),
        "server": "tests/gpu/model_server.py: aiohttp + `model.generate`, static batches of up to %d requests "
                  "gathered while they arrive less than %s ms apart; started and loaded in %.1f s" % (model["max_batch"], model["gather_ms"], load_s),
    }
    lines = ["### Run of %s" % info["date"], "", "| host | |", "| --- | --- |"]
    lines += ["| %s | %s |" % (key, info[key]) for key in ("card", "driver", "software", "model", "server")]
    lines += [
        "",
        "Client: `hymt.gpu_mesh.translate` with `mode: benchmark`, `max_tokens: %d`, `sampling: {ignore_eos: true}` on top "
        "of HY-MT1.5's recommended sampling (top_k 20, top_p 0.6, repetition_penalty 1.05, temperature 0.7), "
        "English to Chinese prompts of the module's own template, run as an ad-hoc `ansible localhost` task on the GPU "
        "host. One warm-up round (8 requests at concurrency 8, 2 at 1) is not counted." % TOKENS,
        "",
        "| concurrency | ok/requests | generated tokens per request | TTFT p50 / p95 s (server) | latency p50 (module) / p95 (server) / p90 / p99 (module) s "
        "| median batch | tokens/s, all requests (module) | tokens/s per request (server) | s per 50 tokens (p50) | vs report's %.2f s |" % REPORT_S_PER_50,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ] + rows + [
        "",
        "TTFT is the server's time from a request's arrival to its first generated token (GPU-synchronised; it includes "
        "the batch gathering and queueing); p95 latency is the server's arrival-to-answer time, so it lacks the "
        "HTTP round trip that the module's p50/p90/p99 include. The last column is the p50 time for 50 tokens divided "
        "by the HY-MT1.5 technical report's 0.18 s (its serving stack, not plain `generate`).",
        "",
        "Caveats: the weights are random, so the text is gibberish (mostly empty here: the generated ids lie beyond "
        "the lab's small test tokenizer, and are counted but not shown) - that is expected; only the speed means "
        "something. `transformers serve` could not run on this host: it has no network, and its serving extras "
        "(fastapi, uvicorn, openai and their dependencies) are not installed, so tests/gpu/model_server.py stands in "
        "for it with aiohttp alone, which the host has. It batches statically with `generate` in eager PyTorch "
        "(no CUDA graphs, no paged KV cache, no continuous batching): expect a production server such as vLLM "
        "to be faster than these numbers.",
    ]
    dest = page.write_section(opts.results, HEADING, BEGIN, END, "\n".join(lines))
    print("\n".join(lines))
    print("wrote %s" % dest)
    failed = sum(r[1]["benchmark"]["failed"] for r in runs.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
