# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of an OpenAI-compatible chat API serving HY-MT1.5, for the translate module.

Standard library only (it runs wherever the module runs). ``Client`` speaks ``/health``,
``/v1/models`` and ``/v1/chat/completions``; it retries connection failures and 502/503/504 (a
rolling update or a proxy that is not ready yet) and nothing else. ``translate`` builds the
HY-MT1.5 prompt and returns the translation with its latency; ``benchmark`` sends many such
requests at a fixed concurrency and summarises latency and throughput.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import urllib.error

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, SSLValidationError, open_url
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import hymt_prompts

# How the server takes sampling parameters beyond the OpenAI schema (top_k, repetition_penalty).
# vllm: top-level request fields (vLLM, SGLang). transformers: one JSON `generation_config` field
# (`transformers serve` refuses unknown top-level fields).
SERVER_APIS = ("vllm", "transformers")
RETRY_STATUSES = (502, 503, 504)
# http.client raises HTTPException (not OSError) when a proxy drops the connection mid-response;
# open_url raises its own errors for TLS failures.
_NO_ANSWER = (OSError, http.client.HTTPException, UrlsConnectionError, SSLValidationError)


class TranslateError(Exception):
    """A request that failed for good; the message says which URL and why."""


class Client:
    def __init__(self, base_url, model=None, api_key=None, timeout=60.0, retries=3, retry_delay=1.0,
                 validate_certs=True, ca_path=None, server_api="vllm", headers=None, sleep=time.sleep):
        if server_api not in SERVER_APIS:
            raise TranslateError("server_api must be one of %s, not %r" % (", ".join(SERVER_APIS), server_api))
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.server_api = server_api
        self.sleep = sleep
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.headers.update(headers or {})
        if api_key:
            self.headers["Authorization"] = "Bearer %s" % api_key
        self.validate_certs = validate_certs
        self.ca_path = ca_path

    def _once(self, method, path, body=None):
        """(status, parsed JSON or None, raw text) of one request; OSError when nothing answered."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        try:
            response = open_url(self.base_url + path, data=data, headers=self.headers, method=method,
                                timeout=self.timeout, validate_certs=self.validate_certs, ca_path=self.ca_path,
                                follow_redirects="safe")
            status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text

    def request(self, method, path, body=None):
        """The parsed JSON answer of a 2xx response, after the allowed retries; TranslateError otherwise."""
        url = self.base_url + path
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.retry_delay * 2 ** (attempt - 1))
            try:
                status, parsed, text = self._once(method, path, body)
            except _NO_ANSWER as exc:
                last = "no answer (%s)" % exc
                continue
            if 200 <= status < 300:
                if parsed is None:
                    raise TranslateError("%s %s answered %d with a body that is not JSON: %.200s" % (method, url, status, text))
                return parsed
            last = "HTTP %d: %.300s" % (status, text)
            if status not in RETRY_STATUSES:
                break
        raise TranslateError("Failed to %s %s: %s" % (method, url, last))

    def healthy(self):
        """Whether /health answers 200 now (no retries)."""
        try:
            status = self._once("GET", "/health")[0]
        except _NO_ANSWER:
            return False
        return status == 200

    def wait_ready(self, timeout, interval=2.0, clock=time.monotonic):
        """Wait until /health answers 200; returns the seconds waited, TranslateError after ``timeout``."""
        start = clock()
        while not self.healthy():
            if clock() - start >= timeout:
                raise TranslateError("%s/health did not answer 200 within %s s: the model server is not ready"
                                     % (self.base_url, timeout))
            self.sleep(interval)
        return round(clock() - start, 3)

    def resolve_model(self):
        """The model name to send: the configured one, else the first that /v1/models lists."""
        if not self.model:
            listed = self.request("GET", "/v1/models").get("data") or []
            if not listed:
                raise TranslateError("%s/v1/models lists no model; set the model name" % self.base_url)
            self.model = listed[0]["id"]
        return self.model

    def chat_body(self, messages, sampling, max_tokens, stop_token_ids=None):
        """The /v1/chat/completions request body, sampling placed where ``server_api`` reads it."""
        body = {"model": self.resolve_model(), "messages": messages, "max_tokens": max_tokens, "stream": False}
        sampling = dict(sampling)
        if self.server_api == "vllm":
            body.update(sampling)
            if stop_token_ids:
                body["stop_token_ids"] = list(stop_token_ids)
        else:
            generation = dict(sampling, max_new_tokens=max_tokens, do_sample=sampling.get("temperature", 1) > 0)
            if stop_token_ids:
                generation["eos_token_id"] = list(stop_token_ids)
            body["generation_config"] = json.dumps(generation, sort_keys=True)
        return body

    def chat(self, messages, sampling, max_tokens, stop_token_ids=None, clock=time.monotonic):
        """One completion: dict with content, finish_reason, usage, model and latency_s."""
        body = self.chat_body(messages, sampling, max_tokens, stop_token_ids)
        start = clock()
        answer = self.request("POST", "/v1/chat/completions", body)
        latency = clock() - start
        try:
            choice = answer["choices"][0]
            content = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise TranslateError("%s/v1/chat/completions answered without choices[0].message: %.300s"
                                 % (self.base_url, json.dumps(answer)))
        return {
            "content": content,
            "finish_reason": choice.get("finish_reason"),
            "usage": answer.get("usage") or {},
            "model": answer.get("model", body["model"]),
            "latency_s": round(latency, 4),
        }


def sampling_params(overrides=None):
    """Tencent's recommended sampling with the caller's overrides (a None value removes a key)."""
    merged = dict(hymt_prompts.RECOMMENDED_SAMPLING)
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def translate(client, text, target, source=None, terms=None, context=None, formatted=False,
              sampling=None, max_tokens=512, stop_token_ids=None):
    """Translate one text; dict with source text, translation, finish_reason, usage and latency_s."""
    prompt = hymt_prompts.build_prompt(text, target, source, terms, context, formatted)
    answer = client.chat(hymt_prompts.messages(prompt), sampling_params(sampling), max_tokens, stop_token_ids)
    return {
        "text": text,
        "translation": hymt_prompts.extract_translation(answer["content"], formatted),
        "finish_reason": answer["finish_reason"],
        "usage": answer["usage"],
        "model": answer["model"],
        "latency_s": answer["latency_s"],
    }


def percentile(values, fraction):
    """Nearest-rank percentile of ``values`` (fraction between 0 and 1)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, int(math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def benchmark(client, texts, target, requests, concurrency, source=None, sampling=None, max_tokens=128,
              stop_token_ids=None, clock=time.monotonic):
    """Send ``requests`` translations (cycling through ``texts``) with ``concurrency`` in flight.

    Returns counts, latency percentiles (seconds), requests per second and completion tokens per
    second over the whole run. Failed requests are counted and their first messages kept; they are
    not retried beyond the client's own retries.
    """
    if requests < 1 or concurrency < 1:
        raise TranslateError("benchmark requests and concurrency must be at least 1")
    if not texts:
        raise TranslateError("benchmark needs at least one text")
    prompts = [hymt_prompts.build_prompt(t, target, source) for t in texts]
    sampling = sampling_params(sampling)
    client.resolve_model()
    lock = threading.Lock()
    state = {"next": 0, "latencies": [], "completion_tokens": 0, "prompt_tokens": 0, "errors": []}

    def worker():
        while True:
            with lock:
                index = state["next"]
                if index >= requests:
                    return
                state["next"] += 1
            try:
                answer = client.chat(hymt_prompts.messages(prompts[index % len(prompts)]), sampling,
                                     max_tokens, stop_token_ids, clock=clock)
            except TranslateError as exc:
                with lock:
                    state["errors"].append(str(exc))
                continue
            with lock:
                state["latencies"].append(answer["latency_s"])
                state["completion_tokens"] += int(answer["usage"].get("completion_tokens") or 0)
                state["prompt_tokens"] += int(answer["usage"].get("prompt_tokens") or 0)

    start = clock()
    threads = [threading.Thread(target=worker) for dummy in range(min(concurrency, requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = max(clock() - start, 1e-9)
    latencies = state["latencies"]
    return {
        "requests": requests,
        "concurrency": concurrency,
        "succeeded": len(latencies),
        "failed": len(state["errors"]),
        "errors": state["errors"][:5],
        "wall_s": round(wall, 4),
        "requests_per_s": round(len(latencies) / wall, 3),
        "completion_tokens": state["completion_tokens"],
        "prompt_tokens": state["prompt_tokens"],
        "completion_tokens_per_s": round(state["completion_tokens"] / wall, 2),
        "latency_s": {
            "mean": round(sum(latencies) / len(latencies), 4) if latencies else None,
            "p50": percentile(latencies, 0.50),
            "p90": percentile(latencies, 0.90),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies) if latencies else None,
        },
    }
