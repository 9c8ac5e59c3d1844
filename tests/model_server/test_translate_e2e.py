# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The translate module and client against a real `transformers serve` (tiny HunYuanDenseV1, CPU).

The model is random, so translations are gibberish; what is checked is everything around them:
the exact HY-MT prompt reaches the model (its token count equals what the model's own tokenizer
and chat template make of the README's prompt), sampling reaches the generator, failures are
reported, and the module runs through ansible like a playbook task would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import translate_client as tc

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_prompt_reaches_the_model(model_server, count_tokens):
    url, model_dir = model_server
    client = tc.Client(url, server_api="transformers")
    result = tc.translate(client, "今天天气很好。", "en", max_tokens=4)
    readme_prompt = "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n今天天气很好。"
    assert result["usage"]["prompt_tokens"] == count_tokens(model_dir, readme_prompt)
    assert result["usage"]["completion_tokens"] == 4 and result["finish_reason"] == "length"
    # The model name came from /v1/models: the server's forced model.
    assert result["model"] == str(model_dir)


def test_greedy_sampling_reaches_the_generator(model_server):
    url = model_server[0]
    client = tc.Client(url, server_api="transformers")
    runs = [tc.translate(client, "The quick brown fox.", "de", "en", sampling={"temperature": 0}, max_tokens=6)
            for attempt in range(2)]
    assert runs[0]["translation"] == runs[1]["translation"]
    assert runs[0]["usage"]["completion_tokens"] == 6


def test_vllm_style_fields_are_refused_by_transformers_serve(model_server):
    url = model_server[0]
    with pytest.raises(tc.TranslateError, match="HTTP 422.*top_k"):
        tc.translate(tc.Client(url, server_api="vllm"), "hi", "zh", max_tokens=2)


def test_wrong_model_name_is_a_clear_error(model_server):
    url = model_server[0]
    with pytest.raises(tc.TranslateError, match="HTTP 400"):
        tc.translate(tc.Client(url, model="tencent/HY-MT1.5-1.8B", server_api="transformers"), "hi", "zh", max_tokens=2)


def test_benchmark_with_concurrency(model_server):
    url = model_server[0]
    summary = tc.benchmark(tc.Client(url, server_api="transformers"), ["one text", "another text"], "zh",
                           requests=6, concurrency=3, max_tokens=4)
    assert (summary["succeeded"], summary["failed"]) == (6, 0)
    assert summary["completion_tokens"] == 24 and summary["latency_s"]["p50"] > 0


@pytest.fixture(scope="module")
def playbook_results(model_server, tmp_path_factory):
    """Results of one ansible-playbook run of the translate module: three tasks, by task name."""
    url = model_server[0]
    common = {"url": url, "server_api": "transformers"}
    tasks = [
        {"name": "translate", "hymt.gpu_mesh.translate": dict(
            common, texts=["Good morning", "Good night"], target_language="fr", max_tokens=3, wait_timeout=30)},
        {"name": "benchmark", "hymt.gpu_mesh.translate": dict(
            common, text="Good morning", target_language="ja", mode="benchmark", benchmark_requests=4,
            benchmark_concurrency=2, max_tokens=2)},
        {"name": "unreachable", "ignore_errors": True, "hymt.gpu_mesh.translate": {
            "url": "http://127.0.0.1:9", "text": "x", "target_language": "zh", "retries": 0}},
    ]
    playbook = tmp_path_factory.mktemp("playbook") / "translate.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = json.loads(proc.stdout)
    return {t["task"]["name"]: t["hosts"]["localhost"] for t in out["plays"][0]["tasks"]}


def test_module_through_ansible(playbook_results):
    result = playbook_results["translate"]
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False and [t["text"] for t in result["translations"]] == ["Good morning", "Good night"]
    assert all(t["usage"]["completion_tokens"] == 3 for t in result["translations"])


def test_module_benchmark_through_ansible(playbook_results):
    result = playbook_results["benchmark"]
    assert result["benchmark"]["succeeded"] == 4 and result["benchmark"]["completion_tokens_per_s"] > 0


def test_module_reports_an_unreachable_server(playbook_results):
    result = playbook_results["unreachable"]
    assert result["failed"] is True and "no answer" in result["msg"]
