"""The HTTP(S) front of the simulator: authentication, fault injection, the request log, discovery,
the REST verbs of every served resource (including watch and pods/eviction) and the /_sim admin API."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import traceback
from urllib.parse import unquote

from aiohttp import web

from .controllers import Controllers, NodeSeed, disruption_budget
from .errors import ApiError
from .faults import Faults, RequestLog
from .selectors import match_fields, match_label_selector, match_requirements, parse_field_selector, parse_label_selector
from .store import Store

HEALTH = ("/readyz", "/livez", "/healthz")
ANONYMOUS = HEALTH + ("/version",)


def _json(body: dict, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class Simulator:
    """Everything one simulated cluster holds; reset() rebuilds the cluster from the seed."""

    def __init__(self, k8s_version: str, seeds: list[NodeSeed], token: str, controllers: bool = True,
                 timings: dict | None = None):
        self.k8s_version = k8s_version
        self.seeds = seeds
        self.token = token
        self.timings = dict(timings or {})
        self.faults = Faults()
        self.log = RequestLog()
        self.controllers_on = controllers
        self.reset()

    def reset(self) -> None:
        self.store = Store(self.k8s_version)
        self.controllers = Controllers(self.store, self.seeds, self.k8s_version, self.controllers_on, **self.timings)

    async def run_controllers(self) -> None:
        while True:
            if self.controllers.enabled:
                try:
                    self.controllers.reconcile()
                except Exception:  # pylint: disable=broad-exception-caught
                    # A controller bug must show in the log, not silently stop every controller.
                    traceback.print_exc()
            await asyncio.sleep(0.1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)

        async def background(app_):
            task = asyncio.create_task(self.run_controllers())
            yield
            task.cancel()

        app.cleanup_ctx.append(background)
        return app

    # --- request pipeline -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.path.rstrip("/") or "/"
        verb = request.method.lower()
        try:
            if path in HEALTH:
                return web.Response(text="ok")
            if path not in ANONYMOUS and not self._authorized(request):
                raise ApiError(401, "Unauthorized")
            if path.startswith("/_sim/"):
                return await self.admin(request, path)
            decision = self.faults.decide(request.method, path)
            if decision.latency:
                await asyncio.sleep(decision.latency)
            if decision.drop:
                self.log.record(request.method, verb, path, 0, started)
                request.transport.abort()
                raise asyncio.CancelledError()
            if decision.error:
                raise decision.error
            response, verb = await self.route(request, path)
        except ApiError as exc:
            response = _json(exc.status(), exc.code)
            if exc.code == 429:
                response.headers["Retry-After"] = "1"
        except ValueError as exc:
            response = _json(ApiError(400, f"bad request: {exc}").status(), 400)
        if verb != "watch":  # a watch is logged when it opens
            self.log.record(request.method, verb, path, response.status, started)
        return response

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), self.token)

    async def route(self, request: web.Request, path: str):
        parts = [unquote(p) for p in path.split("/") if p]
        registry = self.store.registry
        if path == "/version":
            minor = self.k8s_version.lstrip("v").split(".")
            return _json({"major": minor[0], "minor": minor[1], "gitVersion": f"v{minor[0]}.{minor[1]}.0-kube-sim",
                          "gitCommit": "kube-sim", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                          "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64",
                          "emulationMajor": minor[0], "emulationMinor": minor[1]}), "get"
        if parts == ["api"]:
            return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}]}), "get"
        if parts == ["apis"]:
            return _json(registry.group_list()), "get"
        if len(parts) == 2 and parts[0] == "apis":
            group = registry.group(parts[1])
            if group is None:
                raise ApiError(404, "the server could not find the requested resource")
            return _json(group), "get"
        if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
            listing = registry.resource_list("" if parts[0] == "api" else parts[1], parts[-1])
            if listing is None:
                raise ApiError(404, "the server could not find the requested resource")
            return _json(listing), "get"
        if len(parts) >= 3 and parts[0] in ("api", "apis"):
            return await self.resource(request, parts)
        raise ApiError(404, "the server could not find the requested resource")

    async def resource(self, request: web.Request, parts: list[str]):
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) < 4:
                raise ApiError(404, "the server could not find the requested resource")
            group, version, rest = parts[1], parts[2], parts[3:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else "")
        rtype = self.store.type(group, version, plural)
        if namespace and not rtype.namespaced:
            raise ApiError(404, "the server could not find the requested resource")
        if sub and sub not in rtype.subresources:
            raise ApiError(404, "the server could not find the requested resource")
        query = request.query
        dry_run = query.get("dryRun") == "All"
        manager = query.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0] or "unknown"
        method = request.method
        store = self.store
        if method == "GET" and name is None:
            if _truthy(query.get("watch")):
                return await self.watch(request, rtype, namespace), "watch"
            return _json(store.list(rtype, namespace, query.get("labelSelector"), query.get("fieldSelector"))), "list"
        if method == "GET":
            return _json(store.get(rtype, namespace, name)), "get"
        if method == "POST" and sub == "eviction":
            return self.evict(rtype, namespace, name, await self._body(request), dry_run), "create"
        if method == "POST" and name is None:
            return _json(store.create(rtype, namespace, await self._body(request), manager, dry_run), 201), "create"
        if method == "PUT" and name:
            return _json(store.update(rtype, namespace, name, await self._body(request), manager, dry_run, sub)), "update"
        if method == "PATCH" and name:
            existed = store.raw(rtype, namespace if rtype.namespaced else None, name) is not None
            result = store.patch(rtype, namespace, name, await request.read(), request.content_type, query.get("fieldManager"),
                                 _truthy(query.get("force")), dry_run, sub)
            return _json(result, 200 if existed else 201), "patch"
        if method == "DELETE" and name:
            options = await self._body(request, optional=True) or {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            dry_run = dry_run or "All" in (options.get("dryRun") or [])
            uid = (options.get("preconditions") or {}).get("uid")
            return _json(store.delete(rtype, namespace, name, propagation, dry_run, uid)), "delete"
        if method == "DELETE":
            return _json(store.delete_collection(rtype, namespace, query.get("labelSelector"), query.get("fieldSelector"),
                                                 dry_run)), "deletecollection"
        raise ApiError(405, f"the server does not allow this method on the requested resource: {method}")

    @staticmethod
    async def _body(request: web.Request, optional: bool = False):
        raw = await request.read()
        if not raw:
            if optional:
                return None
            raise ApiError(400, "the request body is empty")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f"the request body is not JSON: {exc}") from exc

    # --- watch and eviction -----------------------------------------------------------------------

    async def watch(self, request: web.Request, rtype, namespace: str | None) -> web.StreamResponse:
        labels = parse_label_selector(request.query.get("labelSelector"))
        fields = parse_field_selector(request.query.get("fieldSelector"))
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        self.log.record(request.method, "watch", request.path.rstrip("/"), 200, time.monotonic())
        queue: asyncio.Queue = asyncio.Queue()
        watcher = (rtype.key, namespace, queue)
        self.store.watchers.append(watcher)

        def wanted(obj):
            return match_requirements(labels, obj["metadata"].get("labels")) and match_fields(fields, obj)

        try:
            if request.query.get("resourceVersion") in (None, "", "0"):
                for item in self.store.list(rtype, namespace)["items"]:
                    item.update(apiVersion=rtype.api_version, kind=rtype.kind)
                    if wanted(item):
                        await response.write(json.dumps({"type": "ADDED", "object": item}).encode() + b"\n")
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event, obj = await asyncio.wait_for(queue.get(), left)
                except asyncio.TimeoutError:
                    break
                if wanted(obj):
                    await response.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.watchers.remove(watcher)
        await response.write_eof()
        return response

    def evict(self, rtype, namespace: str, name: str, body: dict, dry_run: bool) -> web.Response:
        """pods/eviction: refused with 429 while a PodDisruptionBudget would be violated, else the pod is deleted."""
        if not isinstance(body, dict) or body.get("kind", "Eviction") != "Eviction":
            raise ApiError(400, "the body of a pods/eviction request must be an Eviction")
        pod = self.store.get(rtype, namespace, name)
        pdb_type = self.store.type("policy", "v1", "poddisruptionbudgets")
        pods = self.store.list(rtype, namespace)["items"]
        for pdb in self.store.list(pdb_type, namespace)["items"]:
            if not match_label_selector(pdb["spec"].get("selector"), pod["metadata"].get("labels")):
                continue
            budget = disruption_budget(pdb, pods)
            if _pod_ready(pod) and budget["disruptionsAllowed"] < 1:
                raise ApiError(429, "Cannot evict pod as it would violate the pod's disruption budget.", details={
                    "causes": [{"reason": "DisruptionBudget", "message": f"The disruption budget {pdb['metadata']['name']} needs "
                                f"{budget['desiredHealthy']} healthy pods and has {budget['currentHealthy']} currently"}]})
        self.store.delete(rtype, namespace, name, dry_run=dry_run)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201)

    # --- admin ------------------------------------------------------------------------------------

    async def admin(self, request: web.Request, path: str) -> web.Response:
        method = request.method
        body = await self._body(request, optional=True) if method in ("POST", "PUT") else None
        if path == "/_sim/faults":
            if method in ("POST", "PUT"):
                rules = body.get("rules") if isinstance(body, dict) else body
                self.faults.set(rules or [])
            elif method == "DELETE":
                self.faults.set([])
            return _json({"rules": [r.public() for r in self.faults.rules]})
        if path == "/_sim/requests":
            summary = self.log.summary()
            if method == "DELETE":
                self.log.reset()
            return _json(summary)
        if path == "/_sim/controllers":
            ctl = self.controllers
            if method in ("POST", "PUT") and isinstance(body, dict):
                for key in ("pod_ready_seconds", "job_seconds", "crash_seconds"):
                    if key in body:
                        setattr(ctl, key, float(body[key]))
                        self.timings[key] = float(body[key])
                if "enabled" in body:
                    ctl.enabled = self.controllers_on = bool(body["enabled"])
            return _json({k: getattr(ctl, k) for k in ("enabled", "pod_ready_seconds", "job_seconds", "crash_seconds")})
        if path == "/_sim/reconcile" and method == "POST":
            self.controllers.reconcile()
            return _json({"reconciled": True})
        if path == "/_sim/reset" and method == "POST":
            self.reset()
            self.faults.set([])
            self.log.reset()
            return _json({"reset": True})
        if path == "/_sim/info":
            return _json({"simulated": True, "kubernetesVersion": self.k8s_version,
                          "nodes": [{"name": s.name, "gpus": s.gpus, "device_plugin": s.device_plugin} for s in self.seeds],
                          "resourceVersion": self.store.rv})
        raise ApiError(404, f"no admin endpoint {method} {path}")


def _pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])
