# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model-serving benchmark on a real GPU through `transformers serve` (issue 8, item 4).

Run it through tests/gpu/run.sh (ansible-core, the collection path and the serving wheels). It
writes HY-MT1.5-1.8B's architecture with random bf16 weights into a model directory
(tests/gpu/model_server.py build), serves it with `transformers serve DIR --device cuda --dtype
bfloat16` and runs the collection's module hymt.gpu_mesh.translate with mode=benchmark against it
at concurrency 1 and 8, every request forced to 50 generated tokens. Latency p50/p90/p99 and
tokens/s are the module's own. Time to first token and p95 latency come from a streaming probe:
the module's own request body (translate_client.Client.chat_body) sent with "stream": true,
timed to the first chunk with text and to the end. With --continuous-batching the same runs
follow on `transformers serve --continuous-batching`.

Only when `transformers serve` cannot start or answer does the FALLBACK, tests/gpu/model_server.py
serve (aiohttp around model.generate), serve the same directory; the page then says so and why,
its times come from that server's /stats, and the script exits 1. --small runs the same code path
on a CPU with a small model of the same architecture (a smoke test; its page section says so).
Writes its section of RESULTS_DIR/gpu.md; exits 1 when a request failed or the fallback served.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import importlib.metadata
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
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
# Exactly TOKENS generated tokens per request: transformers serve reads generate()'s own keys from the
# generation_config field (server_api transformers); the stand-in reads vLLM's ignore_eos (server_api vllm).
FORCE_LENGTH = {"transformers": {"min_new_tokens": TOKENS}, "vllm": {"ignore_eos": True}}
STARTED = time.monotonic()


def say(message):
    print("[serving +%5.1fs] %s" % (time.monotonic() - STARTED, message), flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_json(url, data=None, timeout=30):
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def server_env():
    return dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                PYTHONUNBUFFERED="1")


def build_model(results, small, device):
    """(model directory, its description): written by model_server.py build in a child process (torch)."""
    model_dir = Path(tempfile.mkdtemp(prefix="hymt-random-model-")) / "hy-mt1.5-1.8b-random"
    say("writing the random-weight %s model to %s (weights initialised on %s)" % (
        "small" if small else "full-size", model_dir, device))
    started = time.monotonic()
    with open(results / "model-build.log", "ab") as log:
        proc = subprocess.run([sys.executable, str(HERE / "model_server.py"), "build", str(model_dir), "--device", device]
                              + (["--small"] if small else []), stdout=subprocess.PIPE, stderr=log, env=server_env(),
                              check=False)
    if proc.returncode:
        raise SystemExit("model_server.py build failed (rc=%d); see %s" % (proc.returncode, results / "model-build.log"))
    description = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in model_dir.iterdir())
    say("model written in %.1f s: %s, %.3f B parameters, %.2f GiB on disk" % (
        time.monotonic() - started, description["architecture"], description["parameters"] / 1e9, size / 2 ** 30))
    return model_dir, description


class Server:
    """One server process in its own process group, its log, and the label the page gives it."""

    def __init__(self, kind, label, command, log_path, server_api):
        self.kind, self.label, self.command, self.server_api = kind, label, command, server_api
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = log_path
        self.proc = None
        self.load_s = None

    def start(self, timeout):
        """Start and wait for /health; returns None when ready, else the reason it is not."""
        command = self.command + ["--port", str(self.port)]
        say("starting %s: %s" % (self.label, " ".join(command)))
        with open(self.log_path, "ab") as log:
            log.write(("\n==== %s: %s\n" % (self.label, " ".join(command))).encode())
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         env=server_env())
        started = time.monotonic()
        next_note = started + 15
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                return "it exited with %s before /health answered: %s" % (self.proc.returncode, self.log_tail())
            try:
                fetch_json(self.base + "/health", timeout=2)
                self.load_s = time.monotonic() - started
                say("%s answers /health after %.1f s" % (self.label, self.load_s))
                return None
            except OSError:
                time.sleep(0.5)
            if time.monotonic() >= next_note:
                say("waiting for %s to load the model: %.0f s so far; log: %s" % (
                    self.label, time.monotonic() - started, self.log_tail(1)))
                next_note += 15
        self.stop()
        return "/health did not answer within %d s: %s" % (timeout, self.log_tail())

    def log_tail(self, lines=3):
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip()[:300] for line in text[-lines:])

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def module_bench(server, model, requests, concurrency, max_tokens=TOKENS):
    """The translate module's benchmark result (run as an ad-hoc Ansible task, as a user would)."""
    args = {
        "url": server.base, "model": model, "server_api": server.server_api, "mode": "benchmark", "texts": TEXTS,
        "target_language": "zh", "source_language": "en", "benchmark_requests": requests,
        "benchmark_concurrency": concurrency, "max_tokens": max_tokens,
        "sampling": dict(FORCE_LENGTH[server.server_api]), "timeout": 600, "retries": 0, "wait_timeout": 60,
    }
    result = acceptance.ansible_result(acceptance.ansible("hymt.gpu_mesh.translate", json.dumps(args)))
    return args, result


def collection_module_utils():
    """translate_client and hymt_prompts, as the module imports them (run.sh sets the collection path)."""
    for path in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    from ansible_collections.hymt.gpu_mesh.plugins.module_utils import hymt_prompts, translate_client
    return translate_client, hymt_prompts


def stream_once(server, body, timeout=600):
    """Arrival-to-first-text and arrival-to-end seconds, and the generated tokens, of one streamed request."""
    url = urllib.parse.urlsplit(server.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError("HTTP %d: %s" % (response.status, response.read()[:300]))
        first, tokens = None, None
        for raw in response:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("error"):
                raise RuntimeError("stream error: %s" % chunk["error"])
            delta = ((chunk.get("choices") or [{}])[0].get("delta")) or {}
            if first is None and delta.get("content"):
                first = time.perf_counter() - started
            if chunk.get("usage"):
                tokens = chunk["usage"].get("completion_tokens")
        total = time.perf_counter() - started
    finally:
        conn.close()
    return {"ttft_s": first if first is not None else total, "total_s": total, "completion_tokens": tokens,
            "saw_text": first is not None}


def stream_probe(server, model, requests, concurrency):
    """Streamed requests of the module's own body at a fixed concurrency; per-request times and errors."""
    translate_client, hymt_prompts = collection_module_utils()
    client = translate_client.Client(server.base, model=model, server_api=server.server_api)
    sampling = translate_client.sampling_params(FORCE_LENGTH[server.server_api])
    bodies = []
    for text in TEXTS:
        body = client.chat_body(hymt_prompts.messages(hymt_prompts.build_prompt(text, "zh", "en")), sampling, TOKENS)
        bodies.append(dict(body, stream=True))
    lock = threading.Lock()
    state = {"next": 0, "done": [], "errors": []}

    def worker():
        while True:
            with lock:
                index = state["next"]
                if index >= requests:
                    return
                state["next"] += 1
            try:
                outcome = stream_once(server, bodies[index % len(bodies)])
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown on the page
                with lock:
                    state["errors"].append(str(exc))
                continue
            with lock:
                state["done"].append(outcome)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for dummy in range(min(concurrency, requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": state["done"], "errors": state["errors"][:5], "failed": len(state["errors"]),
            "wall_s": time.monotonic() - started, "concurrency": concurrency, "source": "streaming probe"}


def standin_stats(server):
    """The stand-in's own per-request times of the last module run, in the probe's shape."""
    stats = fetch_json(server.base + "/stats")
    reqs = stats["requests"]
    return {"requests": [{"ttft_s": r["ttft_s"], "total_s": r["total_s"], "completion_tokens": r["completion_tokens"],
                          "saw_text": True, "batch": r["batch"]} for r in reqs],
            "errors": [], "failed": 0, "concurrency": None, "source": "stand-in /stats"}


def pct(values, fraction):
    ordered = sorted(values)
    return ordered[max(1, int(math.ceil(fraction * len(ordered)))) - 1]


def measure(server, model, opts, warm_8):
    """Warm-up, then the module benchmark and the probe at concurrency 1 and 8; None and a reason when it fails."""
    say("%s: warm-up (2 requests at concurrency 1%s)" % (server.label, ", 8 at 8" if warm_8 else ""))
    args, result = module_bench(server, model, 2, 1)
    usage_ok = result.get("benchmark", {}).get("completion_tokens") == 2 * TOKENS
    if result.get("failed") or not result.get("benchmark") or result["benchmark"]["failed"] or not usage_ok:
        return None, "the warm-up translations failed or did not generate %d tokens each: %s" % (
            TOKENS, json.dumps(result.get("benchmark") or result)[:1500])
    if warm_8:
        module_bench(server, model, 8, 8)
    runs = {}
    for concurrency, requests, probes in ((1, opts.requests_1, opts.probe_1), (8, opts.requests_8, opts.probe_8)):
        if server.kind == "stand-in":
            fetch_json(server.base + "/stats/reset", data=b"")
        say("%s: translate module benchmark, %d requests at concurrency %d" % (server.label, requests, concurrency))
        args, result = module_bench(server, model, requests, concurrency)
        if result.get("failed") or not result.get("benchmark"):
            return None, "the translate benchmark at concurrency %d failed: %s" % (concurrency, json.dumps(result)[:1500])
        say("%s: concurrency %d: %s" % (server.label, concurrency, json.dumps(result["benchmark"])))
        if server.kind == "stand-in":
            probe = standin_stats(server)
        else:
            say("%s: streaming probe, %d requests at concurrency %d" % (server.label, probes, concurrency))
            probe = stream_probe(server, model, probes, concurrency)
            say("%s: probe done in %.1f s, %d failed" % (server.label, probe["wall_s"], probe["failed"]))
        runs[concurrency] = {"module_args": args, "module_result": result, "probe": probe}
    return runs, None


def serve_commands(model_dir, device, results):
    python = sys.executable
    serve = [python, "-m", "transformers.cli.transformers", "serve", str(model_dir), "--host", "127.0.0.1",
             "--device", device, "--dtype", "bfloat16", "--log-level", "info"]
    log = results / "model-server.log"
    return {
        "default": Server("transformers", "transformers serve", serve, log, "transformers"),
        "continuous-batching": Server("transformers", "transformers serve --continuous-batching",
                                      serve + ["--continuous-batching"], log, "transformers"),
        "stand-in": Server("stand-in", "FALLBACK stand-in tests/gpu/model_server.py serve",
                           [python, str(HERE / "model_server.py"), "serve", str(model_dir), "--device", device], log, "vllm"),
    }


def software_versions():
    names = ("torch", "transformers", "tokenizers", "huggingface-hub", "fastapi", "uvicorn", "starlette", "pydantic",
             "openai", "aiohttp", "ansible-core")
    found = []
    for name in names:
        try:
            found.append("%s %s" % (name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append("%s absent" % name)
    return found


def torch_info():
    """torch's CUDA build and device name, read in a child process (torch must not share one with Ansible)."""
    code = ("import json, torch; print(json.dumps([torch.version.cuda, "
            "torch.cuda.get_device_name(0) if torch.cuda.is_available() else None]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [None, None]


def row(label, concurrency, run):
    b = run["module_result"]["benchmark"]
    probe = run["probe"]
    reqs = probe["requests"]
    per_request = b["completion_tokens"] / b["succeeded"] if b["succeeded"] else 0
    s_per_50 = b["latency_s"]["p50"] * TOKENS / per_request if per_request else float("nan")
    if reqs:
        tokens = [r["completion_tokens"] for r in reqs if r["completion_tokens"] is not None]
        probe_cells = "%d/%d | %s | %.3f / %.3f | %.3f / %.3f" % (
            len(reqs), len(reqs) + probe["failed"],
            "%d-%d" % (min(tokens), max(tokens)) if tokens else "?",
            statistics.median(r["ttft_s"] for r in reqs), pct([r["ttft_s"] for r in reqs], 0.95),
            statistics.median(r["total_s"] for r in reqs), pct([r["total_s"] for r in reqs], 0.95))
    else:
        probe_cells = "0/%d | - | - | -" % probe["failed"]
    return "| %s | %d | %d/%d | %.1f | %.3f / %.3f / %.3f | %.1f | %s | %s | %.3f | %.1f x |" % (
        label, concurrency, b["succeeded"], b["requests"], per_request,
        b["latency_s"]["p50"], b["latency_s"]["p90"], b["latency_s"]["p99"], b["completion_tokens_per_s"],
        probe["source"], probe_cells, s_per_50, s_per_50 / REPORT_S_PER_50)


def render(info, measured, notes, small):
    title = ("### CPU smoke run of %s: NOT a GPU measurement (small model, --small)" % info["date"]) if small \
        else "### Run of %s" % info["date"]
    lines = [title, "", "| host | |", "| --- | --- |"]
    lines += ["| %s | %s |" % (key, info[key]) for key in ("card", "driver", "software", "model", "servers")]
    lines += [
        "",
        "Client: `hymt.gpu_mesh.translate` with `mode: benchmark`, `max_tokens: %d` and every request forced to %d "
        "generated tokens (`sampling: {min_new_tokens: %d}` in the `generation_config` field that `server_api: "
        "transformers` sends; `{ignore_eos: true}` for the stand-in), on top of HY-MT1.5's recommended sampling "
        "(top_k 20, top_p 0.6, repetition_penalty 1.05, temperature 0.7), English to Chinese prompts of the module's "
        "own template, run as an ad-hoc `ansible localhost` task on the host. A warm-up (2 requests at concurrency 1; "
        "8 at 8 with continuous batching) is not counted." % (TOKENS, TOKENS, TOKENS),
        "",
        "| server | concurrency | module ok/requests | module tokens per request | module latency p50 / p90 / p99 s "
        "| module tokens/s, all requests | TTFT and p95 from | probe ok/requests | probe tokens per request "
        "| TTFT p50 / p95 s | latency p50 / p95 s | s per 50 tokens (module p50) | vs report's %.2f s |" % REPORT_S_PER_50,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, runs in measured:
        lines += [row(label, concurrency, run) for concurrency, run in sorted(runs.items())]
    lines += [
        "",
        "The module's latency is per request, client-side, over HTTP. The streaming probe sends the module's own request "
        "body (translate_client's chat_body) with `stream: true`: TTFT is the time from sending it to the first chunk "
        "with text, latency the time to the end of the stream; it runs right after the module's benchmark at the same "
        "concurrency. `transformers serve` without `--continuous-batching` runs one `generate` at a time, so at "
        "concurrency 8 requests queue behind each other. The second-last column is the module's p50 latency scaled to "
        "50 tokens; the last divides it by the HY-MT1.5 technical report's 0.18 s (its own serving stack).",
        "",
        "Caveats: the weights are random, so the text is gibberish (filler tokens \" w<id>\" of the test tokenizer); only "
        "the speed means something. `transformers serve` runs eager PyTorch (no CUDA graphs or torch.compile here): "
        "expect a production server such as vLLM to be faster than these numbers.",
    ]
    lines += [""] + notes if notes else []
    return "\n".join(lines)


def host_info(device, description):
    """The page's host table, read before the servers start (nvidia-smi and a child process for torch)."""
    cuda_build, device_name = torch_info()
    if device == "cuda":
        gpus, driver = acceptance.reference_gpus(["index", "name", "memory.total", "driver_version", "uuid", "pci.bus_id",
                                                  "compute_cap", "mig.mode.current", "mig.mode.pending",
                                                  "ecc.mode.current", "persistence_mode"])
        host = acceptance.reference_host()
        names = ", ".join(sorted({g["name"] for g in gpus}))
        memory = ", ".join(sorted({str(g["memory_total_mib"]) for g in gpus}))
        card = "%d x %s, %s MiB (torch sees %s)" % (len(gpus), names, memory, device_name)
        driver_text = "%s (%s kernel module %s), CUDA %s (torch built for CUDA %s)" % (
            driver, host["kernel_module_flavour"], host["kernel_module_version"], host["cuda_version"], cuda_build)
    else:
        card = "none: %s, %s" % (device, platform.processor() or platform.machine())
        driver_text = "none (torch built for CUDA %s)" % cuda_build
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "card": card,
        "driver": driver_text,
        "software": "Python %s, %s" % (platform.python_version(), ", ".join(software_versions())),
        "model": "%s, %.3f B parameters, %s, random weights (seed %s), %s size; tokenizer of %d ids; config %s" % (
            description["architecture"], description["parameters"] / 1e9, description["dtype"], description["seed"],
            description["size"], description["tokenizer_vocab"],
            ", ".join("%s=%s" % item for item in description["config"].items())),
    }


def publish(opts, info, description, model, device, measured, notes, records):
    """Write serving.json and the page section with what is measured so far (again after each server)."""
    (opts.results / "serving.json").write_text(json.dumps({"model": description, "model_dir": model,
                                                           "configurations": records}, indent=2) + "\n")
    loaded = ["%s (loaded in %.1f s)" % (record["label"], record["load_s"]) for record in records.values() if "runs" in record]
    served = any(name != "stand-in" and "runs" in record for name, record in records.items())
    command = ("; started as `python -m transformers.cli.transformers serve MODEL_DIR --device %s --dtype bfloat16`"
               " (plus the flag named)" % device) if served else ""
    info = dict(info, servers=("; ".join(loaded) or "none measured") + command)
    section = render(info, measured, notes, opts.small)
    return section, page.write_section(opts.results, HEADING, BEGIN, END, section)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="directory for gpu.md, serving.json and the server logs")
    parser.add_argument("--server", choices=["auto", "transformers", "stand-in"], default="auto",
                        help="auto: transformers serve, the stand-in only when it cannot start or answer")
    parser.add_argument("--continuous-batching", action="store_true",
                        help="also measure `transformers serve --continuous-batching`")
    parser.add_argument("--small", action="store_true", help="CPU smoke test: small model, few requests")
    parser.add_argument("--device", help="default cuda, or cpu with --small")
    parser.add_argument("--requests-1", type=int, help="module requests at concurrency 1 (default 20; 4 with --small)")
    parser.add_argument("--requests-8", type=int, help="module requests at concurrency 8 (default 32; 8 with --small)")
    parser.add_argument("--probe-1", type=int, help="streamed requests at concurrency 1 (default 8; 2 with --small)")
    parser.add_argument("--probe-8", type=int, help="streamed requests at concurrency 8 (default 16; 8 with --small)")
    parser.add_argument("--budget-s", type=float, default=0,
                        help="skip the continuous-batching runs when they would end after this many seconds (0: never)")
    parser.add_argument("--load-timeout", type=int, default=300, help="seconds a server may take to answer /health")
    opts = parser.parse_args()
    defaults = dict(requests_1=(4, 20), requests_8=(8, 32), probe_1=(2, 8), probe_8=(8, 16))
    for key, (small, full) in defaults.items():
        if getattr(opts, key) is None:
            setattr(opts, key, small if opts.small else full)
    device = opts.device or ("cpu" if opts.small else "cuda")
    opts.results.mkdir(parents=True, exist_ok=True)
    # A stop from outside (a time limit) still stops the servers, which run in their own sessions.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    model_dir, description = build_model(opts.results, opts.small, device)
    try:
        return serve_and_measure(opts, device, model_dir, description)
    finally:
        shutil.rmtree(model_dir.parent, ignore_errors=True)  # 3.4 GiB of random weights at full size


def serve_and_measure(opts, device, model_dir, description):
    """Measure each planned server on the built model directory; the exit status of the script."""
    model = str(model_dir)  # transformers serve pins this name: a request naming another is refused
    info = host_info(device, description)
    servers = serve_commands(model_dir, device, opts.results)
    plan = {"auto": ["default"], "transformers": ["default"], "stand-in": ["stand-in"]}[opts.server]
    if opts.continuous_batching and opts.server != "stand-in":
        plan.append("continuous-batching")
    measured, notes, records, failed = [], [], {}, 0
    first_config_s = 0.0  # how long the first server took, from its start to the end of its runs
    for name in plan:
        server = servers[name]
        if name == "continuous-batching" and opts.budget_s and time.monotonic() - STARTED + first_config_s > opts.budget_s:
            notes.append("`%s` was not measured: the first server's runs took %.0f s and the run's budget of %.0f s "
                         "would have been exceeded." % (server.label, first_config_s, opts.budget_s))
            say(notes[-1])
            continue
        config_started = time.monotonic()
        runs, reason = None, server.start(opts.load_timeout)
        if reason is None:
            try:
                runs, reason = measure(server, model, opts, warm_8=(name == "continuous-batching"))
            finally:
                server.stop()
        if reason is not None:
            say("%s could not be measured: %s" % (server.label, reason))
            records[name] = {"label": server.label, "error": reason}
            if name != "default" or opts.server == "transformers":
                notes.append("`%s` could not be measured: %s" % (server.label, reason))
                failed += name == "default"
                continue
            failed += 1
            notes.append("FALLBACK: `transformers serve` could not serve the model on this host (%s), so the numbers "
                         "of this run come from the stand-in tests/gpu/model_server.py serve (aiohttp + `generate`, "
                         "static batches of up to 8), not from `transformers serve`." % reason)
            name, server = "stand-in", servers["stand-in"]
            reason = server.start(opts.load_timeout)
            if reason is None:
                try:
                    runs, reason = measure(server, model, opts, warm_8=True)
                finally:
                    server.stop()
            if reason is not None:
                records[name] = {"label": server.label, "error": reason}
                publish(opts, info, description, model, device, measured, notes, records)
                raise SystemExit("the stand-in could not serve either: %s" % reason)
        if not first_config_s:
            first_config_s = time.monotonic() - config_started
        measured.append((server.label, runs))
        records[name] = {"label": server.label, "load_s": server.load_s, "runs": runs}
        failed += sum(run["module_result"]["benchmark"]["failed"] + run["probe"]["failed"] for run in runs.values())
        section, dest = publish(opts, info, description, model, device, measured, notes, records)
        say("wrote %s with %s" % (dest, server.label))

    section, dest = publish(opts, info, description, model, device, measured, notes, records)
    print(section)
    say("wrote %s; %s" % (dest, "FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
