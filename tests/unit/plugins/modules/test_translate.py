# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of the translate module: argument checks and result shape, with the HTTP client stubbed.

What goes over the wire is tested in module_utils/test_translate_client.py and, against a real
server, in tests/model_server/.
"""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import translate_client
from ansible_collections.hymt.gpu_mesh.plugins.modules import translate


@pytest.fixture
def sent(monkeypatch):
    """Stub Client.chat; returns the list of (messages, sampling, max_tokens) it got."""
    calls = []

    def chat(self, messages, sampling, max_tokens, stop_token_ids=None, clock=None):
        calls.append((messages, sampling, max_tokens))
        return {"content": "<target>好</target>", "finish_reason": "stop", "model": self.model or "listed",
                "usage": {"completion_tokens": 2, "prompt_tokens": 5}, "latency_s": 0.01}

    monkeypatch.setattr(translate_client.Client, "chat", chat)
    monkeypatch.setattr(translate_client.Client, "resolve_model", lambda self: self.model or "listed")
    return calls


@pytest.fixture(name="run_main")
def fixture_run_main(run_module):
    return lambda args: run_module(translate.main, dict({"url": "http://mt:8000", "target_language": "zh"}, **args))


@pytest.mark.parametrize("check_mode", [False, True])
def test_translate_one_text(sent, check_mode, run_main):
    kind, result = run_main({"text": "Good", "model": "hy-mt", "_ansible_check_mode": check_mode})
    assert kind == "exit" and result["changed"] is False
    assert result["translation"] == "<target>好</target>" and result["model"] == "hy-mt"
    assert len(result["translations"]) == 1 and result["benchmark"] is None
    assert sent[0][1]["top_k"] == 20


def test_formatted_answer_is_unwrapped(sent, run_main):
    dummy, result = run_main({"texts": ["<sn>Good</sn>"], "formatted": True})
    assert result["translation"] is None and result["translations"][0]["translation"] == "好"


def test_benchmark_mode(sent, run_main):
    kind, result = run_main({"texts": ["a", "b"], "mode": "benchmark", "benchmark_requests": 5, "benchmark_concurrency": 2})
    assert kind == "exit" and result["translations"] == []
    assert result["benchmark"]["succeeded"] == 5 and len(sent) == 5


@pytest.mark.parametrize("args, message", [
    ({"text": "a", "target_language": "xx"}, "unsupported language 'xx'"),
    ({"text": "a", "terms": {"a": "b"}, "formatted": True}, "cannot be combined"),
    ({"text": "a", "max_tokens": 0}, "max_tokens must be at least 1"),
    ({"texts": []}, "texts must list at least one text"),
    ({"text": "a", "texts": ["b"]}, "mutually exclusive"),
    ({}, "one of the following is required: text, texts"),
])
def test_bad_input_is_refused_before_any_request(sent, args, message, run_main):
    kind, result = run_main(args)
    assert kind == "fail" and message in result["msg"]
    assert sent == []


def test_server_failure_is_reported(monkeypatch, sent, run_main):
    def fail(self, *a, **k):
        raise translate_client.TranslateError("Failed to POST http://mt:8000/v1/chat/completions: HTTP 503: dead")
    monkeypatch.setattr(translate_client.Client, "chat", fail)
    kind, result = run_main({"text": "a"})
    assert kind == "fail" and result["msg"].endswith("HTTP 503: dead")
