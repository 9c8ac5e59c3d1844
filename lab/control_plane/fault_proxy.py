"""The lab's fault proxy: a thin HTTPS reverse proxy in front of the real kube-apiserver.

The product's kubeconfig points here. Every request is passed on unchanged (bearer token, body,
streamed watch responses) unless a fault rule matches it; then the proxy answers for the API server
with a scripted status (a Kubernetes `Status` body; 429 with Retry-After), adds latency, drops the
connection, or cuts a watch stream short. Rules are set through its admin endpoint
``/_lab/faults`` (GET reads, POST ``{"rules": [...]}`` replaces, DELETE clears), which needs a
token of the API server's token file. A rule:

    {"verb": "GET"|"PATCH"|...|"*", "path": "<regex on the URL path>", "status": 503, "rate": 0.2,
     "sequence": [503, 503, 0, 429], "latency_ms": 200, "drop": true, "watch_cut_after_s": 2,
     "times": 3}

``sequence`` answers one matching request per entry (0 lets it through) and the rule ends with it;
``status`` fails ``rate`` of the matching requests; ``drop`` closes the connection without an
answer; ``watch_cut_after_s`` ends matching watch streams after that many seconds; ``times``
caps how often the rule fires.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import ssl
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
REASONS = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout", 404: "NotFound", 403: "Forbidden", 422: "Invalid"}


@dataclass
class Rule:
    verb: str = "*"
    path: str = ".*"
    status: int = 0
    rate: float = 1.0
    sequence: list = field(default_factory=list)
    latency_ms: int = 0
    drop: bool = False
    watch_cut_after_s: float = 0
    times: int | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        self._path = re.compile(self.path)
        if not (self.status or self.sequence or self.latency_ms or self.drop or self.watch_cut_after_s):
            raise ValueError("a fault rule needs status, sequence, latency_ms, drop or watch_cut_after_s")

    def matches(self, verb: str, path: str) -> bool:
        return (self.verb in ("*", verb) and bool(self._path.search(path))
                and (self.times is None or self.fired < self.times))

    def public(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def spent(self) -> bool:
        return (self.times is not None and self.fired >= self.times) or not (
            self.sequence or self.status or self.drop or self.latency_ms or self.watch_cut_after_s)


@dataclass
class Decision:
    latency: float = 0.0
    status: int = 0
    drop: bool = False
    cut_after: float = 0.0


class Faults:
    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.random = random.Random()

    def decide(self, verb: str, path: str) -> Decision:
        decision = Decision()
        for rule in self.rules:
            if not rule.matches(verb, path):
                continue
            code = rule.sequence.pop(0) if rule.sequence else (
                rule.status if rule.status and self.random.random() < rule.rate else 0)
            decision.latency += rule.latency_ms / 1000
            if rule.drop and (not (rule.status or rule.sequence) or code):
                decision.drop = True
            elif code and not decision.status:
                decision.status = code
            if rule.watch_cut_after_s:
                decision.cut_after = rule.watch_cut_after_s
            if code or rule.drop or rule.latency_ms or rule.watch_cut_after_s:
                rule.fired += 1
        self.rules = [r for r in self.rules if not r.spent()]
        return decision


def verb_of(method: str, query: dict) -> str:
    return "WATCH" if method == "GET" and query.get("watch") in ("true", "1") else method


def status_body(code: int, verb: str, path: str) -> dict:
    reason = REASONS.get(code, "InternalError")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": reason, "code": code,
            "message": f"injected by the lab's fault proxy: {verb} {path} answered {code} {reason}"}


class Proxy:
    def __init__(self, upstream: str, ca: str, admin_tokens: set[str]):
        self.upstream = upstream.rstrip("/")
        self.ca = ca
        self.admin_tokens = admin_tokens
        self.faults = Faults()
        self.session: aiohttp.ClientSession | None = None

    async def startup(self, _app) -> None:
        context = ssl.create_default_context(cafile=self.ca)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=0),
                                             auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))

    async def cleanup(self, _app) -> None:
        if self.session:
            await self.session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 ** 2)
        app.on_startup.append(self.startup)
        app.on_cleanup.append(self.cleanup)
        app.router.add_route("*", "/_lab/faults", self.admin)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def admin(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token not in self.admin_tokens:
            return web.json_response(status_body(403, request.method, request.path), status=403)
        if request.method == "POST":
            try:
                rules = (await request.json()).get("rules") or []
                self.faults.rules = [Rule(**r) for r in rules]
            except (TypeError, ValueError, re.error) as exc:
                return web.json_response({"error": f"invalid fault rules: {exc}"}, status=400)
        elif request.method == "DELETE":
            self.faults.rules = []
        return web.json_response({"rules": [r.public() for r in self.faults.rules]})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        verb = verb_of(request.method, request.query)
        decision = self.faults.decide(verb, request.path)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.drop:
            if request.transport:
                request.transport.abort()
            raise ConnectionResetError("dropped by a fault rule")
        if decision.status:
            headers = {"Retry-After": "1"} if decision.status == 429 else {}
            return web.json_response(status_body(decision.status, verb, request.path), status=decision.status,
                                     headers=headers)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        assert self.session is not None
        async with self.session.request(request.method, self.upstream + request.rel_url.raw_path_qs,
                                        headers=headers, data=body or None, allow_redirects=False) as upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP})
            if upstream.headers.get("Content-Length") and verb != "WATCH":
                data = await upstream.read()
                response.content_length = len(data)
                await response.prepare(request)
                await response.write(data)
                await response.write_eof()
                return response
            await response.prepare(request)
            cut = asyncio.get_running_loop().time() + decision.cut_after if decision.cut_after else None
            while True:
                timeout = None if cut is None else max(0.0, cut - asyncio.get_running_loop().time())
                try:
                    chunk = await asyncio.wait_for(upstream.content.readany(), timeout)
                except asyncio.TimeoutError:
                    break  # a watch cut short by a fault rule: the client sees the stream end
                if not chunk:
                    break
                await response.write(chunk)
            await response.write_eof()
            return response


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.control_plane.fault_proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--upstream", required=True, help="the API server's URL")
    parser.add_argument("--ca", required=True, help="CA that signed the API server's certificate")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--admin-token-file", required=True, help="the API server's token file (CSV)")
    parser.add_argument("--faults", help="JSON list of rules to start with")
    args = parser.parse_args(argv)
    with open(args.admin_token_file, encoding="utf-8") as handle:
        tokens = {line.split(",", 1)[0] for line in handle if line.strip()}
    proxy = Proxy(args.upstream, args.ca, tokens)
    if args.faults:
        proxy.faults.rules = [Rule(**r) for r in json.loads(args.faults)]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    host, port = args.listen.rsplit(":", 1)

    async def serve() -> None:
        runner = web.AppRunner(proxy.app(), access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, int(port), ssl_context=context).start()
        print(f"fault proxy: {args.listen} -> {args.upstream}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
