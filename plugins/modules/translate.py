#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: translate
short_description: Translate text with HY-MT1.5 through an OpenAI-compatible API, or benchmark it
version_added: 0.1.0
description:
  - Sends text to a server that serves Tencent's HY-MT1.5 models with an OpenAI-compatible
    C(/v1/chat/completions) API (vLLM, SGLang or C(transformers serve)) and returns the translations.
  - Builds the user message from the prompt templates HY-MT1.5 was trained on (Chinese to or from
    another language, between two other languages, terminology, context, formatted text) and uses
    Tencent's recommended sampling (top_k 20, top_p 0.6, repetition_penalty 1.05,
    temperature 0.7) unless O(sampling) overrides it. No system prompt is sent.
  - With O(mode=benchmark), sends O(benchmark_requests) translations with
    O(benchmark_concurrency) in flight and reports latency percentiles and throughput.
  - Retries a request only when nothing answered or the answer was 502, 503 or 504.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  url:
    description:
      - Base URL of the server, without C(/v1), for example V(http://hy-mt.translation.svc.cluster.local:8000).
    type: str
    required: true
  model:
    description:
      - Model name to request, as the server serves it (vLLM's C(--served-model-name)).
      - Default is the first model that C(/v1/models) lists.
    type: str
  api_key:
    description: Bearer token the server requires (vLLM's C(--api-key)), if any.
    type: str
  server_api:
    description:
      - How the server takes the sampling parameters outside the OpenAI schema (top_k, repetition_penalty).
      - V(vllm) sends them as request fields, as vLLM and SGLang read them.
      - V(transformers) sends them in the C(generation_config) field that C(transformers serve) reads;
        it refuses unknown request fields.
    type: str
    choices: [vllm, transformers]
    default: vllm
  text:
    description: One text to translate. Exactly one of O(text) and O(texts) is required.
    type: str
  texts:
    description: Several texts, translated one request each (the benchmark cycles through them).
    type: list
    elements: str
  target_language:
    description: Language code to translate into, one of the 38 HY-MT1.5 supports (V(zh), V(en), V(de), V(zh-Hant), V(yue), ...).
    type: str
    required: true
  source_language:
    description:
      - Language code of the text. It only chooses the prompt template (Chinese instructions when
        Chinese is on either side); without it, Han characters in the text mean a Chinese source.
    type: str
  terms:
    description: Imposed translations of terms, source term to target term (HY-MT1.5's terminology template).
    type: dict
  context:
    description: Text the model reads to disambiguate but does not translate (contextual template).
    type: str
  formatted:
    description:
      - Keep C(<sn></sn>) format markup in place (formatted template); the translation is read out
        of the C(<target>) tag of the answer.
    type: bool
    default: false
  sampling:
    description:
      - "Overrides of the recommended sampling parameters, for example C({temperature: 0}) for
        greedy decoding. A key set to V(null) is not sent."
    type: dict
    default: {}
  max_tokens:
    description: Maximum number of tokens generated per translation.
    type: int
    default: 512
  stop_token_ids:
    description:
      - Token ids that end generation, for servers whose generation config lacks the model's end
        token (HY-MT1.5-1.8B ends with 120020).
    type: list
    elements: int
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 60
  retries:
    description: How many times a request is repeated after no answer or a 502, 503 or 504.
    type: int
    default: 3
  wait_timeout:
    description:
      - Seconds to wait for C(/health) to answer 200 before translating, for a server that is still
        loading its model. V(0) does not wait.
    type: int
    default: 0
  validate_certs:
    description: Whether to verify the server's TLS certificate for an C(https) URL.
    type: bool
    default: true
  ca_path:
    description: CA bundle that signed the server's certificate, for an C(https) URL.
    type: path
  mode:
    description: V(translate) returns translations; V(benchmark) measures latency and throughput.
    type: str
    choices: [translate, benchmark]
    default: translate
  benchmark_requests:
    description: Number of requests of a benchmark.
    type: int
    default: 20
  benchmark_concurrency:
    description: Requests in flight at once during a benchmark.
    type: int
    default: 4
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Translating changes nothing, so the requests are sent in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - The module never reports a change.
  - Run it where the server is reachable; inside a Linkerd mesh, from a meshed pod or through an
    ingress, since the server's policy may refuse clients without a mesh identity.
seealso:
  - name: HY-MT1.5 prompt templates
    description: The model README's prompts, languages and recommended sampling.
    link: https://github.com/Tencent-Hunyuan/HY-MT
"""

EXAMPLES = r"""
- name: Translate a sentence into Chinese
  hymt.gpu_mesh.translate:
    url: http://hy-mt.translation.svc.cluster.local:8000
    text: "It's on the house."
    target_language: zh
  register: result

- name: Translate with imposed terminology, greedy
  hymt.gpu_mesh.translate:
    url: http://hy-mt.translation.svc.cluster.local:8000
    texts:
      - Linkerd encrypts the traffic between the pods.
    target_language: zh
    terms:
      Linkerd: Linkerd
      pods: 容器组
    sampling:
      temperature: 0

- name: Measure latency with 8 requests in flight, after the model has loaded
  hymt.gpu_mesh.translate:
    url: "{{ translation_url }}"
    mode: benchmark
    wait_timeout: 600
    texts: "{{ sample_sentences }}"
    target_language: en
    benchmark_requests: 200
    benchmark_concurrency: 8
    max_tokens: 64
  register: bench
"""

RETURN = r"""
model:
  description: Model name the server answered for.
  returned: always
  type: str
  sample: hy-mt1.5-1.8b
waited_s:
  description: Seconds spent waiting for C(/health) (O(wait_timeout)).
  returned: always
  type: float
  sample: 0.0
translation:
  description: The translation of O(text); V(null) when O(texts) was given or in benchmark mode.
  returned: always
  type: str
  sample: 这是免费的。
translations:
  description: One entry per text, in order; empty in benchmark mode.
  returned: always
  type: list
  elements: dict
  contains:
    text:
      description: The source text.
      type: str
    translation:
      description: The model's translation.
      type: str
    finish_reason:
      description: Why generation stopped, V(stop) or V(length) (O(max_tokens) reached).
      type: str
    usage:
      description: Prompt, completion and total token counts the server reported.
      type: dict
    latency_s:
      description: Seconds from sending the request to the complete answer.
      type: float
benchmark:
  description: The benchmark summary; V(null) in translate mode.
  returned: always
  type: dict
  contains:
    requests:
      description: Requests sent.
      type: int
    succeeded:
      description: Requests that returned a completion.
      type: int
    failed:
      description: Requests that failed after the retries.
      type: int
    errors:
      description: The first five failure messages.
      type: list
      elements: str
    wall_s:
      description: Duration of the whole benchmark in seconds.
      type: float
    requests_per_s:
      description: Successful requests per second of wall time.
      type: float
    completion_tokens_per_s:
      description: Generated tokens per second of wall time.
      type: float
    latency_s:
      description: Per-request latency in seconds, keys mean, p50, p90, p95, p99 and max.
      type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import hymt_prompts, translate_client


def argspec():
    return dict(
        url=dict(type="str", required=True),
        model=dict(type="str"),
        api_key=dict(type="str", no_log=True),
        server_api=dict(type="str", choices=list(translate_client.SERVER_APIS), default="vllm"),
        text=dict(type="str"),
        texts=dict(type="list", elements="str"),
        target_language=dict(type="str", required=True),
        source_language=dict(type="str"),
        terms=dict(type="dict"),
        context=dict(type="str"),
        formatted=dict(type="bool", default=False),
        sampling=dict(type="dict", default={}),
        max_tokens=dict(type="int", default=512, no_log=False),
        stop_token_ids=dict(type="list", elements="int", no_log=False),
        timeout=dict(type="float", default=60),
        retries=dict(type="int", default=3),
        wait_timeout=dict(type="int", default=0),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        mode=dict(type="str", choices=["translate", "benchmark"], default="translate"),
        benchmark_requests=dict(type="int", default=20),
        benchmark_concurrency=dict(type="int", default=4),
    )


def run(params):
    """The module's result for validated parameters; raises PromptError or TranslateError."""
    texts = [params["text"]] if params["text"] is not None else params["texts"]
    # Refuse a bad language or template combination before any request is sent.
    for text in texts:
        hymt_prompts.build_prompt(text, params["target_language"], params["source_language"],
                                  params["terms"], params["context"], params["formatted"])
    client = translate_client.Client(
        params["url"], model=params["model"], api_key=params["api_key"], timeout=params["timeout"],
        retries=params["retries"], validate_certs=params["validate_certs"], ca_path=params["ca_path"],
        server_api=params["server_api"],
    )
    waited = client.wait_ready(params["wait_timeout"]) if params["wait_timeout"] > 0 else 0.0
    result = {"changed": False, "waited_s": waited, "translation": None, "translations": [], "benchmark": None}
    if params["mode"] == "benchmark":
        result["benchmark"] = translate_client.benchmark(
            client, texts, params["target_language"], params["benchmark_requests"],
            params["benchmark_concurrency"], source=params["source_language"], sampling=params["sampling"],
            max_tokens=params["max_tokens"], stop_token_ids=params["stop_token_ids"],
        )
    else:
        for text in texts:
            result["translations"].append(translate_client.translate(
                client, text, params["target_language"], params["source_language"], params["terms"],
                params["context"], params["formatted"], params["sampling"], params["max_tokens"],
                params["stop_token_ids"],
            ))
        if params["text"] is not None:
            result["translation"] = result["translations"][0]["translation"]
    result["model"] = client.model
    return result


def main():
    module = AnsibleModule(
        argument_spec=argspec(),
        mutually_exclusive=[("text", "texts")],
        required_one_of=[("text", "texts")],
        supports_check_mode=True,
    )
    params = module.params
    for name in ("max_tokens", "benchmark_requests", "benchmark_concurrency"):
        if params[name] < 1:
            module.fail_json(msg="%s must be at least 1, not %d" % (name, params[name]))
    if params["texts"] is not None and not params["texts"]:
        module.fail_json(msg="texts must list at least one text")
    try:
        result = run(params)
    except hymt_prompts.PromptError as exc:
        module.fail_json(msg="Refused the translation request: %s" % exc)
    except translate_client.TranslateError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    if result["benchmark"] and result["benchmark"]["failed"]:
        module.warn("%d of %d benchmark requests failed; first error: %s" % (
            result["benchmark"]["failed"], result["benchmark"]["requests"], result["benchmark"]["errors"][0]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
