# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The translation_service role's smoke translation, run by a meshed Job next to the service.

Sends one translation with HY-MT1.5's own prompt (hymt_prompts.py, the collection's module_utils
file, mounted beside this script) and Tencent's recommended sampling to the Service's
OpenAI-compatible API, through the pod's Linkerd proxy. Prints exactly one line, the marker and a
JSON object: ``ok`` is true only when the server answered with a non-empty translation. Exits 1
otherwise. Standard library only: it runs in the model server's image.

Settings come from the environment: HYMT_SMOKE_URL (base URL, without /v1), HYMT_SMOKE_TEXT,
HYMT_SMOKE_TARGET (language code), HYMT_SMOKE_MODEL (empty: the first model /v1/models lists),
HYMT_SMOKE_SERVER_API (vllm or transformers: where top_k and repetition_penalty go),
HYMT_SMOKE_MAX_TOKENS, HYMT_SMOKE_WAIT_SECONDS (how long a service that is not answering yet is
retried) and HYMT_API_KEY (the service's bearer token, if any).

The verify phase runs the same script with HYMT_SMOKE_PAIRS (a JSON list of {source, target, text})
and HYMT_SMOKE_REQUESTS (translations per pair): the result then has one entry per pair under
``pairs`` with every request's translation and latency, and ``ok`` only when all of them returned.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

import hymt_prompts

MARKER = "HYMT_SMOKE_RESULT"
# A proxy or Service without ready endpoints answers these while the service comes up.
RETRY_STATUSES = (502, 503, 504)


class SmokeError(Exception):
    """The smoke translation failed; the message says where and why."""


def call(url, body=None, api_key="", timeout=60.0):
    """(status, parsed JSON or None, text) of one request; OSError when nothing answered."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = "Bearer %s" % api_key
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text), text
    except ValueError:
        return status, None, text


def request(url, body=None, api_key="", deadline=0.0, sleep=time.sleep, clock=time.monotonic):
    """The JSON answer of a 2xx response, retrying no answer and 502/503/504 until ``deadline``."""
    delay = 1.0
    while True:
        try:
            status, parsed, text = call(url, body, api_key)
        except OSError as exc:
            last = "no answer (%s)" % exc
        else:
            if 200 <= status < 300 and isinstance(parsed, dict):
                return parsed
            last = "HTTP %d: %.300s" % (status, text)
            if status not in RETRY_STATUSES:
                raise SmokeError("%s answered %s" % (url, last))
        if clock() + delay > deadline:
            raise SmokeError("%s did not answer in time: %s" % (url, last))
        sleep(delay)
        delay = min(delay * 2, 10.0)


def chat_body(model, prompt, server_api, max_tokens):
    """The chat request: one user message, Tencent's sampling placed where the server reads it."""
    body = {"model": model, "messages": hymt_prompts.messages(prompt), "max_tokens": max_tokens, "stream": False}
    sampling = dict(hymt_prompts.RECOMMENDED_SAMPLING)
    if server_api == "transformers":
        # transformers serve refuses unknown request fields; it reads its generation settings here.
        body["generation_config"] = json.dumps(dict(sampling, max_new_tokens=max_tokens, do_sample=True), sort_keys=True)
    else:
        body.update(sampling)
    return body


def smoke(env, sleep=time.sleep, clock=time.monotonic):
    """The result object for the settings in ``env``; never claims a translation it did not get."""
    base = env["HYMT_SMOKE_URL"].rstrip("/")
    text = env.get("HYMT_SMOKE_TEXT", "")
    target = env.get("HYMT_SMOKE_TARGET", "")
    api_key = env.get("HYMT_API_KEY", "")
    deadline = clock() + float(env.get("HYMT_SMOKE_WAIT_SECONDS", "120"))
    result = {"ok": False, "url": base, "text": text, "target_language": target, "translation": ""}
    try:
        prompt = hymt_prompts.build_prompt(text, target)
        model = env.get("HYMT_SMOKE_MODEL", "")
        if not model:
            listed = request(base + "/v1/models", api_key=api_key, deadline=deadline, sleep=sleep, clock=clock).get("data") or []
            if not listed:
                raise SmokeError("%s/v1/models lists no model" % base)
            model = listed[0]["id"]
        body = chat_body(model, prompt, env.get("HYMT_SMOKE_SERVER_API", "vllm"), int(env.get("HYMT_SMOKE_MAX_TOKENS", "64")))
        started = clock()
        answer = request(base + "/v1/chat/completions", body, api_key, deadline, sleep, clock)
        result["latency_s"] = round(clock() - started, 3)
        try:
            content = answer["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise SmokeError("%s/v1/chat/completions answered without choices[0].message: %.300s" % (base, json.dumps(answer)))
        result.update(model=answer.get("model", model), usage=answer.get("usage") or {},
                      translation=hymt_prompts.extract_translation(content))
        if result["translation"]:
            result["ok"] = True
        else:
            result["error"] = "%s/v1/chat/completions answered with an empty translation" % base
    except (SmokeError, hymt_prompts.PromptError, ValueError) as exc:
        result["error"] = str(exc)
    return result


def smoke_pairs(env, sleep=time.sleep, clock=time.monotonic):
    """HYMT_SMOKE_REQUESTS translations of each pair of HYMT_SMOKE_PAIRS, as smoke() sends one."""
    pairs = json.loads(env["HYMT_SMOKE_PAIRS"])
    requests = int(env.get("HYMT_SMOKE_REQUESTS", "1"))
    result = {"ok": True, "url": env["HYMT_SMOKE_URL"].rstrip("/"), "pairs": []}
    model = env.get("HYMT_SMOKE_MODEL", "")
    for pair in pairs:
        entry = {"source": pair.get("source"), "target": pair["target"], "text": pair["text"], "translations": [], "error": None}
        result["pairs"].append(entry)
        while len(entry["translations"]) < requests:
            answer = smoke(dict(env, HYMT_SMOKE_TEXT=pair["text"], HYMT_SMOKE_TARGET=pair["target"], HYMT_SMOKE_MODEL=model),
                           sleep, clock)
            if not answer["ok"]:
                entry["error"] = answer.get("error") or "no translation"
                result["ok"] = False
                break
            # The model is resolved once; every later request asks for it by name.
            model = result["model"] = answer["model"]
            entry["translations"].append({"translation": answer["translation"], "latency_s": answer["latency_s"]})
    return result


def main():
    result = smoke_pairs(os.environ) if os.environ.get("HYMT_SMOKE_PAIRS") else smoke(os.environ)
    print("%s %s" % (MARKER, json.dumps(result, ensure_ascii=False, sort_keys=True)), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
