# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke Job's script (roles/translation_service/files/smoke_translate.py), run as the Job runs it.

The script and the collection's hymt_prompts.py are copied into one directory, as the role's
ConfigMap mounts them, and run with python3 and the Job's environment: against a recording stub
server (what it sends, how it retries, that it never reports a translation it did not receive) and
against a real `transformers serve` on the lab's tiny HunYuanDenseV1 model.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MARKER = "HYMT_SMOKE_RESULT "


def _lab_model_server_fixtures():
    # The model_server suite's own fixture (tests/model_server/conftest.py), reused rather than copied.
    spec = importlib.util.spec_from_file_location("hymt_model_server_fixtures", ROOT / "tests/model_server/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model_server = _lab_model_server_fixtures().model_server


@pytest.fixture
def job_dir(tmp_path):
    """The ConfigMap's mount: the script beside the collection's prompt module."""
    shutil.copy(ROOT / "roles/translation_service/files/smoke_translate.py", tmp_path)
    shutil.copy(ROOT / "plugins/module_utils/hymt_prompts.py", tmp_path)
    return tmp_path


def run_job(job_dir, url, **settings):
    env = {"HYMT_SMOKE_URL": url, "HYMT_SMOKE_TEXT": "The translation service is running in the mesh.",
           "HYMT_SMOKE_TARGET": "zh", "HYMT_SMOKE_WAIT_SECONDS": "20", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(settings)
    proc = subprocess.run([sys.executable, str(job_dir / "smoke_translate.py")], env=env, cwd="/", capture_output=True,
                          text=True, timeout=120, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return proc.returncode, json.loads(lines[0][len(MARKER):])


class StubServer:
    """An OpenAI-compatible stub that answers from a script of (status, body) and records requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body):
                stub.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
                status, payload = stub.answers.pop(0) if stub.answers else (500, {"error": "no more answers"})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer(None)

            def do_POST(self):
                self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    servers = []

    def start(*answers):
        server = StubServer(answers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def completion(content):
    return {"model": "hy-mt1.5-1.8b", "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}}


def test_sends_hy_mt_prompt_and_sampling_and_reports_the_translation(job_dir, stub):
    server = stub((200, completion(" 翻译服务正在网格中运行。 ")))
    rc, result = run_job(job_dir, server.url, HYMT_SMOKE_MODEL="hy-mt1.5-1.8b", HYMT_API_KEY="k3y")
    assert rc == 0 and result["ok"] is True and result["translation"] == "翻译服务正在网格中运行。"
    (method, path, auth, body), = server.requests
    assert (method, path, auth) == ("POST", "/v1/chat/completions", "Bearer k3y")
    # The README's ZH<=>XX template; Chinese is the target, so the instruction is Chinese.
    assert body["messages"] == [{"role": "user", "content":
                                 "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\n\n"
                                 "The translation service is running in the mesh."}]
    assert (body["model"], body["top_k"], body["top_p"], body["repetition_penalty"], body["temperature"]) == (
        "hy-mt1.5-1.8b", 20, 0.6, 1.05, 0.7)


def test_asks_the_server_for_its_model_and_waits_through_unready_answers(job_dir, stub):
    server = stub((503, {"error": "no endpoints"}), (200, {"data": [{"id": "/models/HY-MT1.5-1.8B"}]}),
                  (502, {"error": "proxy not ready"}), (200, completion("Der Dienst läuft.")))
    rc, result = run_job(job_dir, server.url, HYMT_SMOKE_TARGET="de", HYMT_SMOKE_SERVER_API="transformers")
    assert rc == 0 and result["translation"] == "Der Dienst läuft."
    assert [request[:2] for request in server.requests] == [
        ("GET", "/v1/models"), ("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/chat/completions")]
    body = server.requests[-1][3]
    assert body["model"] == "/models/HY-MT1.5-1.8B"
    assert body["messages"][0]["content"].startswith("Translate the following segment into German, without additional explanation.")
    # transformers serve refuses unknown fields: sampling travels in generation_config.
    assert "top_k" not in body and json.loads(body["generation_config"])["top_k"] == 20


@pytest.mark.parametrize("answers, error", [
    ([(200, completion("   "))], "empty translation"),
    ([(403, {"error": "unauthorized"})], "HTTP 403"),
    ([(200, {"choices": []})], "without choices"),
    ([(200, {"data": []})], "lists no model"),
])
def test_never_reports_a_translation_it_did_not_receive(job_dir, stub, answers, error):
    server = stub(*answers)
    model = {} if "lists no model" in error else {"HYMT_SMOKE_MODEL": "m"}
    rc, result = run_job(job_dir, server.url, **model)
    assert rc == 1 and result["ok"] is False and result["translation"] == "" and error in result["error"]
    assert len(server.requests) == len(answers)


def test_gives_up_on_a_service_that_never_answers(job_dir):
    rc, result = run_job(job_dir, "http://127.0.0.1:9", HYMT_SMOKE_MODEL="m", HYMT_SMOKE_WAIT_SECONDS="2")
    assert rc == 1 and result["ok"] is False and "did not answer in time" in result["error"]


def test_refuses_a_language_hy_mt_does_not_support(job_dir, stub):
    server = stub()
    rc, result = run_job(job_dir, server.url, HYMT_SMOKE_TARGET="xx", HYMT_SMOKE_MODEL="m")
    assert rc == 1 and "unsupported language 'xx'" in result["error"] and server.requests == []


def test_translates_through_a_real_transformers_serve(job_dir, model_server):
    url, model_dir = model_server
    rc, result = run_job(job_dir, url, HYMT_SMOKE_SERVER_API="transformers", HYMT_SMOKE_WAIT_SECONDS="60")
    assert rc == 0 and result["ok"] is True, result
    assert result["translation"].strip() and result["model"] == str(model_dir)
    assert result["usage"]["completion_tokens"] >= 1


def test_the_verify_phase_gets_every_request_of_every_pair_with_its_latency(job_dir, stub):
    server = stub((200, {"data": [{"id": "m1"}]}), (200, completion("一")), (200, completion("二")),
                  (200, completion("Eins")), (200, completion("Zwei")))
    pairs = [{"source": "en", "target": "zh", "text": "one"}, {"source": "en", "target": "de", "text": "two"}]
    rc, result = run_job(job_dir, server.url, HYMT_SMOKE_PAIRS=json.dumps(pairs), HYMT_SMOKE_REQUESTS="2")
    assert rc == 0 and result["ok"] is True and result["model"] == "hy-mt1.5-1.8b"
    assert [[t["translation"] for t in p["translations"]] for p in result["pairs"]] == [["一", "二"], ["Eins", "Zwei"]]
    assert all(t["latency_s"] >= 0 for p in result["pairs"] for t in p["translations"])
    # The model is asked for once; every later request names the one the server answered for.
    assert [r[:2] for r in server.requests].count(("GET", "/v1/models")) == 1
    assert [r[3]["model"] for r in server.requests if r[0] == "POST"] == ["m1"] + ["hy-mt1.5-1.8b"] * 3


def test_the_verify_phase_stops_a_pair_at_its_first_failure_and_says_why(job_dir, stub):
    server = stub((200, completion("一")), (500, {"error": "CUDA error"}), (200, completion("Eins")), (200, completion("Zwei")))
    pairs = [{"source": "en", "target": "zh", "text": "one"}, {"source": "en", "target": "de", "text": "two"}]
    rc, result = run_job(job_dir, server.url, HYMT_SMOKE_PAIRS=json.dumps(pairs), HYMT_SMOKE_REQUESTS="2",
                         HYMT_SMOKE_MODEL="m")
    assert rc == 1 and result["ok"] is False
    assert len(result["pairs"][0]["translations"]) == 1 and "HTTP 500" in result["pairs"][0]["error"]
    assert len(result["pairs"][1]["translations"]) == 2 and result["pairs"][1]["error"] is None
