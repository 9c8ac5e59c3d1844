# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/translate_client.py against a scripted local HTTP server.

The server records every request and answers from a queue of (status, body) per path, so the
tests check what goes over the wire (body fields, headers) and how failures are handled.
The end-to-end behaviour against a real `transformers serve` is in tests/model_server/.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import translate_client as tc


def completion(content="你好", completion_tokens=3):
    return {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "model": "hy-mt", "usage": {"prompt_tokens": 10, "completion_tokens": completion_tokens, "total_tokens": 13}}


class Scripted:
    def __init__(self):
        self.requests = []
        self.answers = {}
        self.lock = threading.Lock()

    def answer(self, path, *responses):
        self.answers.setdefault(path, []).extend(responses)

    def next(self, path):
        with self.lock:
            queue = self.answers.get(path, [])
            if len(queue) > 1:
                return queue.pop(0)
            return queue[0] if queue else (404, {"detail": "not found"})


@pytest.fixture
def server():
    scripted = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with scripted.lock:
                scripted.requests.append((self.command, self.path, dict(self.headers), body))
            status, payload = scripted.next(self.path)
            raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _reply

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    scripted.url = "http://127.0.0.1:%d" % httpd.server_address[1]
    yield scripted
    httpd.shutdown()
    httpd.server_close()


def client(server, **kwargs):
    kwargs.setdefault("sleep", lambda s: None)
    return tc.Client(server.url + "/", **kwargs)


def test_translate_sends_the_hy_mt_prompt_and_recommended_sampling(server):
    server.answer("/v1/chat/completions", (200, completion("今天天气很好。")))
    result = tc.translate(client(server, model="hy-mt", api_key="s3cret"), "The weather is nice today.", "zh", "en")
    method, path, headers, body = server.requests[0]
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["messages"] == [{"role": "user", "content":
                                 "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\n\nThe weather is nice today."}]
    assert body["model"] == "hy-mt" and body["stream"] is False and body["max_tokens"] == 512
    assert (body["top_k"], body["top_p"], body["repetition_penalty"], body["temperature"]) == (20, 0.6, 1.05, 0.7)
    assert result["translation"] == "今天天气很好。" and result["usage"]["completion_tokens"] == 3
    assert result["latency_s"] >= 0


def test_transformers_api_puts_sampling_in_generation_config(server):
    server.answer("/v1/chat/completions", (200, completion()))
    tc.translate(client(server, model="m", server_api="transformers"), "hi", "zh", sampling={"temperature": 0},
                 max_tokens=7, stop_token_ids=[120020])
    body = server.requests[0][3]
    assert "top_k" not in body and "temperature" not in body
    assert json.loads(body["generation_config"]) == {
        "top_k": 20, "top_p": 0.6, "repetition_penalty": 1.05, "temperature": 0, "do_sample": False,
        "max_new_tokens": 7, "eos_token_id": [120020]}


def test_model_defaults_to_the_first_listed(server):
    server.answer("/v1/models", (200, {"data": [{"id": "tencent/HY-MT1.5-1.8B"}, {"id": "other"}]}))
    server.answer("/v1/chat/completions", (200, completion()))
    result = tc.translate(client(server), "hi", "zh", sampling={"top_k": None})
    body = server.requests[1][3]
    assert body["model"] == "tencent/HY-MT1.5-1.8B" and "top_k" not in body
    assert result["model"] == "hy-mt"


def test_retries_503_then_succeeds(server):
    slept = []
    server.answer("/v1/chat/completions", (503, {"detail": "loading"}), (502, "bad gateway"), (200, completion()))
    result = tc.translate(client(server, model="m", retries=3, retry_delay=0.5, sleep=slept.append), "hi", "zh")
    assert len(server.requests) == 3 and slept == [0.5, 1.0]
    assert result["translation"] == "你好"


def test_gives_up_after_the_retries_and_names_the_url(server):
    server.answer("/v1/chat/completions", (503, {"detail": "engine dead"}))
    with pytest.raises(tc.TranslateError, match=r"Failed to POST http://127\.0\.0\.1:\d+/v1/chat/completions: HTTP 503"):
        tc.translate(client(server, model="m", retries=2), "hi", "zh")
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server):
    server.answer("/v1/chat/completions", (400, {"detail": "Server is pinned to 'x'"}))
    with pytest.raises(tc.TranslateError, match="HTTP 400.*pinned"):
        tc.translate(client(server, model="m", retries=3), "hi", "zh")
    assert len(server.requests) == 1


def test_malformed_answers_are_errors(server):
    server.answer("/v1/chat/completions", (200, {"object": "error"}))
    with pytest.raises(tc.TranslateError, match="without choices"):
        tc.translate(client(server, model="m"), "hi", "zh")
    server.answers["/v1/chat/completions"] = [(200, "<html>proxy</html>")]
    with pytest.raises(tc.TranslateError, match="not JSON"):
        tc.translate(client(server, model="m"), "hi", "zh")


def test_nothing_listening_is_retried_then_reported():
    slept = []
    c = tc.Client("http://127.0.0.1:9", model="m", retries=1, timeout=2, sleep=slept.append)
    with pytest.raises(tc.TranslateError, match="no answer"):
        tc.translate(c, "hi", "zh")
    assert len(slept) == 1


def test_wait_ready_polls_health_until_200(server):
    server.answer("/health", (503, {}), (503, {}), (200, {"status": "ok"}))
    assert client(server).wait_ready(timeout=60, interval=0) >= 0
    assert [r[1] for r in server.requests] == ["/health"] * 3


def test_wait_ready_times_out_with_a_message(server):
    server.answer("/health", (503, {}))
    ticks = iter(range(100))
    with pytest.raises(tc.TranslateError, match="did not answer 200 within 5 s"):
        client(server).wait_ready(timeout=5, interval=0, clock=lambda: next(ticks))


def test_benchmark_counts_and_percentiles(server):
    server.answer("/v1/chat/completions", (200, completion(completion_tokens=4)))
    summary = tc.benchmark(client(server, model="m"), ["one", "two", "three"], "zh", requests=10, concurrency=3)
    assert (summary["succeeded"], summary["failed"], summary["completion_tokens"]) == (10, 0, 40)
    assert len(server.requests) == 10
    sent = sorted(r[3]["messages"][0]["content"].rsplit("\n", 1)[-1] for r in server.requests)
    assert sent == sorted(["one", "two", "three"] * 3 + ["one"])
    lat = summary["latency_s"]
    assert lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]


def test_benchmark_counts_failures(server):
    server.answer("/v1/chat/completions", (200, completion()), (400, {"detail": "bad"}), (200, completion()))
    summary = tc.benchmark(client(server, model="m"), ["x"], "zh", requests=3, concurrency=1)
    assert (summary["succeeded"], summary["failed"]) == (2, 1) and "HTTP 400" in summary["errors"][0]


@pytest.mark.parametrize("values, fraction, expected", [
    ([5, 1, 3, 2, 4], 0.5, 3), ([5, 1, 3, 2, 4], 0.9, 5), (list(range(1, 101)), 0.99, 99), ([], 0.5, None)])
def test_percentile_nearest_rank(values, fraction, expected):
    assert tc.percentile(values, fraction) == expected


def test_bad_server_api_is_refused():
    with pytest.raises(tc.TranslateError, match="server_api must be one of"):
        tc.Client("http://x", server_api="openai")
