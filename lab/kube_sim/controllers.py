"""Simulated controllers: Deployment, ReplicaSet, DaemonSet, Job, the scheduler, a kubelet and the NVIDIA
device plugin. They converge status the way the real ones do, so a plan that cannot run stays visibly
not running: unschedulable pods stay Pending with the scheduler's reason, and a node advertises GPUs
only while a device-plugin pod is running and ready on it."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

import yaml

from .errors import ApiError
from .scheduling import fit, matches_node_selector, pod_requests, quantity, untolerated_taint
from .selectors import match_label_selector
from .store import Store, now

GPU = "nvidia.com/gpu"
PLUGIN_IMAGE_SUFFIX = "k8s-device-plugin"
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
TERMINAL = ("Succeeded", "Failed")


@dataclass
class NodeSeed:
    name: str
    gpus: int = 0
    cpu: str = "16"
    memory: str = "64Gi"
    labels: dict = field(default_factory=dict)
    taints: list = field(default_factory=list)
    control_plane: bool = False
    device_plugin: str = "healthy"  # or "crashloop"
    device_plugin_message: str = "failed to initialize NVML: ERROR_LIBRARY_NOT_FOUND"


def load_seed(path: str) -> list[NodeSeed]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    seeds = []
    for i, entry in enumerate(data.get("nodes") or []):
        unknown = set(entry) - set(NodeSeed.__dataclass_fields__)
        if unknown or "name" not in entry:
            raise SystemExit(f"kube_sim: {path}: nodes[{i}] has unknown keys {sorted(unknown)} or no name")
        seed = NodeSeed(**entry)
        if seed.device_plugin not in ("healthy", "crashloop"):
            raise SystemExit(f"kube_sim: {path}: nodes[{i}].device_plugin must be healthy or crashloop")
        seeds.append(seed)
    if not seeds:
        raise SystemExit(f"kube_sim: {path} lists no nodes")
    return seeds


def image_repository(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _slash, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def is_plugin_spec(pod_spec: dict) -> bool:
    return any(image_repository(str(c.get("image", ""))).endswith(PLUGIN_IMAGE_SUFFIX)
               for c in pod_spec.get("containers") or [])


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:10]


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _scaled(value, total: int) -> int:
    """An int-or-percent budget; percentages round up, as the disruption controller rounds them."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(total * int(value[:-1]) / 100)
    return int(quantity(value))


def disruption_budget(pdb: dict, pods: list[dict]) -> dict:
    """A PodDisruptionBudget's status over the live pods it covers."""
    spec = pdb.get("spec") or {}
    covered = [p for p in pods if (p.get("status") or {}).get("phase") not in TERMINAL
               and match_label_selector(spec.get("selector"), p["metadata"].get("labels"))]
    expected, healthy = len(covered), sum(_ready(p) for p in covered)
    if "minAvailable" in spec:
        desired = _scaled(spec["minAvailable"], expected)
    else:
        desired = max(0, expected - _scaled(spec.get("maxUnavailable", 0), expected))
    return {"expectedPods": expected, "currentHealthy": healthy, "desiredHealthy": desired,
            "disruptionsAllowed": max(0, healthy - desired)}


def _compact(status: dict) -> dict:
    """Drop zero counters, as the API's omitempty does."""
    return {k: v for k, v in status.items() if v not in (0, None)}


class Controllers:
    def __init__(self, store: Store, seeds: list[NodeSeed], k8s_version: str, enabled: bool = True,
                 pod_ready_seconds: float = 1.0, job_seconds: float = 1.0, crash_seconds: float = 5.0):
        self.store = store
        self.seeds = {s.name: s for s in seeds}
        self.k8s_version = k8s_version
        self.enabled = enabled
        self.pod_ready_seconds = pod_ready_seconds
        self.job_seconds = job_seconds
        self.crash_seconds = crash_seconds
        self.bound_at: dict[str, float] = {}
        self.events: dict[tuple[str, str], str] = {}
        self.t = {name: store.type(*name.split("/")) for name in (
            "/v1/pods", "/v1/nodes", "/v1/events", "/v1/configmaps", "apps/v1/deployments",
            "apps/v1/replicasets", "apps/v1/daemonsets", "batch/v1/jobs", "policy/v1/poddisruptionbudgets")}
        self.seed_nodes()

    # --- nodes ------------------------------------------------------------------------------------

    def seed_nodes(self) -> None:
        minor = self.k8s_version.lstrip("v")
        for i, seed in enumerate(self.seeds.values(), 1):
            labels = {"kubernetes.io/hostname": seed.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", **seed.labels}
            if seed.control_plane:
                labels["node-role.kubernetes.io/control-plane"] = ""
            body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": seed.name, "labels": labels},
                    "spec": {"taints": copy.deepcopy(seed.taints)} if seed.taints else {}}
            self.store.create(self.t["/v1/nodes"], None, body, manager="kubelet")
            node = self.store.raw(self.t["/v1/nodes"], None, seed.name)
            resources = {"cpu": str(seed.cpu), "memory": str(seed.memory), "pods": "110", "ephemeral-storage": "100Gi"}
            stamp = now()
            node["status"] = {
                "capacity": dict(resources), "allocatable": dict(resources),
                "conditions": [
                    {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
                    for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
                ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                      "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}],
                "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + i}"}, {"type": "Hostname", "address": seed.name}],
                "nodeInfo": {"architecture": "amd64", "bootID": f"sim-boot-{i}", "containerRuntimeVersion": "containerd://1.7.24",
                             "kernelVersion": "6.1.0-sim", "kubeProxyVersion": f"v{minor}.0", "kubeletVersion": f"v{minor}.0",
                             "machineID": f"sim-machine-{i}", "operatingSystem": "linux",
                             "osImage": "Simulated Debian GNU/Linux 12 (bookworm)", "systemUUID": f"sim-{i}"},
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            }
            self.store.save(self.t["/v1/nodes"], node)

    # --- loop -------------------------------------------------------------------------------------

    async def run(self, tick: float = 0.1) -> None:
        while True:
            if self.enabled:
                self.reconcile()
            await asyncio.sleep(tick)

    def reconcile(self) -> None:
        self.deployments()
        self.replicasets()
        self.daemonsets()
        self.jobs()
        self.device_plugin()
        self.scheduler()
        self.kubelet()
        self.disruption_budgets()

    def disruption_budgets(self) -> None:
        pods = self.store.all_of("", "pods")
        for pdb in self.store.all_of("policy", "poddisruptionbudgets"):
            ns = pdb["metadata"]["namespace"]
            status = disruption_budget(pdb, [p for p in pods if p["metadata"].get("namespace") == ns])
            allowed = status["disruptionsAllowed"] > 0
            old = {c["type"]: c for c in (pdb.get("status") or {}).get("conditions") or []}.get("DisruptionAllowed")
            condition = {"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                         "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "",
                         "observedGeneration": pdb["metadata"].get("generation"),
                         "lastTransitionTime": now()}
            if old and old.get("status") == condition["status"] and old.get("observedGeneration") == condition["observedGeneration"]:
                condition = old
            status.update(observedGeneration=pdb["metadata"].get("generation"), conditions=[condition])
            self._put_status("policy/v1/poddisruptionbudgets", pdb, status)

    def _put_status(self, key: str, obj: dict, status: dict) -> None:
        if obj.get("status") != status:
            obj["status"] = status
            self.store.save(self.t[key], obj)

    def _owned(self, key: str, owner: dict) -> list[dict]:
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.all_of(*self.t[key].key)
                if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]

    def _ref(self, key: str, owner: dict) -> dict:
        rtype = self.t[key]
        return {"apiVersion": rtype.api_version, "kind": rtype.kind, "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def _create(self, key: str, owner_key: str, owner: dict, body: dict) -> None:
        try:
            self.store.create(self.t[key], owner["metadata"]["namespace"], body, manager="kube-controller-manager")
        except ApiError as exc:
            self.event(owner_key, owner, "Warning", "FailedCreate", f"Error creating: {exc.message}", "controllermanager")

    def _new_pod(self, key: str, owner: dict, template: dict, extra_labels: dict, name: str | None = None) -> dict:
        meta = copy.deepcopy(template.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), **extra_labels}
        meta["namespace"] = owner["metadata"]["namespace"]
        meta["ownerReferences"] = [self._ref(key, owner)]
        meta.pop("name", None)
        meta["generateName"] = name or f"{owner['metadata']['name']}-"
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}

    def _delete(self, key: str, obj: dict) -> None:
        self.store.delete(self.t[key], obj["metadata"].get("namespace"), obj["metadata"]["name"])

    def event(self, key: str, obj: dict, etype: str, reason: str, message: str, component: str) -> None:
        """Record an Event once per object and reason; repeats bump its count."""
        rtype = self.t[key]
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        stamp = now()
        name = self.events.get((meta["uid"], reason))
        existing = self.store.raw(self.t["/v1/events"], ns, name) if name else None
        if existing is not None:
            if existing["message"] != message:
                existing.update(message=message, lastTimestamp=stamp, count=existing.get("count", 1) + 1)
                self.store.save(self.t["/v1/events"], existing)
            return
        name = f"{meta['name']}.{secrets.token_hex(8)}"
        self.events[(meta["uid"], reason)] = name
        body = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"apiVersion": rtype.api_version, "kind": rtype.kind, "name": meta["name"],
                                   "namespace": ns, "uid": meta["uid"], "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message, "type": etype, "count": 1,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "source": {"component": component},
                "reportingComponent": component, "reportingInstance": ""}
        self.store.create(self.t["/v1/events"], ns, body, manager=component)

    # --- workloads --------------------------------------------------------------------------------

    def deployments(self) -> None:
        for dep in self.store.all_of("apps", "deployments"):
            spec, meta = dep["spec"], dep["metadata"]
            template_hash = _hash(spec["template"])
            owned = self._owned("apps/v1/replicasets", dep)
            new_rs = next((rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == template_hash), None)
            desired = spec.get("replicas", 1)
            if new_rs is None:
                template = copy.deepcopy(spec["template"])
                template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
                selector = copy.deepcopy(spec["selector"])
                selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
                body = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": f"{meta['name']}-{template_hash}", "namespace": meta["namespace"],
                                     "labels": template["metadata"]["labels"],
                                     "ownerReferences": [self._ref("apps/v1/deployments", dep)]},
                        "spec": {"replicas": 0, "selector": selector, "template": template}}
                self._create("apps/v1/replicasets", "apps/v1/deployments", dep, body)
                continue
            old = [rs for rs in owned if rs is not new_rs]
            new_available = (new_rs.get("status") or {}).get("availableReplicas", 0)
            old_pods = sum((rs.get("status") or {}).get("replicas", 0) for rs in old)
            recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
            self._scale(new_rs, 0 if recreate and old_pods else desired)
            for rs in old:
                self._scale(rs, 0 if recreate else max(0, min(rs["spec"].get("replicas", 0), desired - new_available)))
            statuses = [rs.get("status") or {} for rs in owned]
            total = sum(s.get("replicas", 0) for s in statuses)
            available = sum(s.get("availableReplicas", 0) for s in statuses)
            wanted = sum(rs["spec"].get("replicas", 0) for rs in owned)
            max_unavailable = self._max_unavailable(spec, desired)
            is_available = available >= desired - max_unavailable
            updated = (new_rs.get("status") or {}).get("replicas", 0)
            complete = updated == desired and new_available == desired and total == desired
            stamp = now()
            previous = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}
            conditions = [
                self._condition(previous, "Available", is_available,
                                "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                                "Deployment has minimum availability." if is_available
                                else "Deployment does not have minimum availability.", stamp),
                self._condition(previous, "Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                                f'ReplicaSet "{new_rs["metadata"]["name"]}" '
                                + ("has successfully progressed." if complete else "is progressing."), stamp),
            ]
            status = _compact({
                "observedGeneration": meta.get("generation"), "replicas": total, "updatedReplicas": updated,
                "readyReplicas": sum(s.get("readyReplicas", 0) for s in statuses), "availableReplicas": available,
                "unavailableReplicas": max(0, max(wanted, desired) - available),
            })
            status["conditions"] = conditions
            self._put_status("apps/v1/deployments", dep, status)

    @staticmethod
    def _max_unavailable(spec: dict, desired: int) -> int:
        value = ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
        if isinstance(value, str) and value.endswith("%"):
            return int(desired * int(value[:-1]) // 100)
        return int(value)

    @staticmethod
    def _condition(previous: dict, ctype: str, ok: bool, reason: str, message: str, stamp: str) -> dict:
        status = "True" if ok else "False"
        old = previous.get(ctype)
        if old and old.get("status") == status and old.get("reason") == reason:
            return old
        return {"type": ctype, "status": status, "reason": reason, "message": message,
                "lastUpdateTime": stamp, "lastTransitionTime": stamp}

    def _scale(self, rs: dict, replicas: int) -> None:
        if rs["spec"].get("replicas") != replicas:
            rs["spec"]["replicas"] = replicas
            rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
            self.store.save(self.t["apps/v1/replicasets"], rs)

    def replicasets(self) -> None:
        for rs in self.store.all_of("apps", "replicasets"):
            pods = [p for p in self._owned("/v1/pods", rs) if (p.get("status") or {}).get("phase") not in TERMINAL]
            want = rs["spec"].get("replicas", 1)
            for _missing in range(want - len(pods)):
                self._create("/v1/pods", "apps/v1/replicasets", rs, self._new_pod("apps/v1/replicasets", rs, rs["spec"]["template"], {}))
            if len(pods) > want:
                doomed = sorted(pods, key=lambda p: (bool(p["spec"].get("nodeName")), _ready(p)))[:len(pods) - want]
                for pod in doomed:
                    self._delete("/v1/pods", pod)
                pods = [p for p in pods if p not in doomed]
            ready = sum(_ready(p) for p in pods)
            self._put_status("apps/v1/replicasets", rs, {"replicas": len(pods), **_compact({
                "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                "observedGeneration": rs["metadata"].get("generation")})})

    def eligible_nodes(self, pod_spec: dict) -> list[dict]:
        tolerations = list(pod_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        return [n for n in self.store.all_of("", "nodes")
                if matches_node_selector(pod_spec, n) and untolerated_taint(tolerations, n) is None]

    def daemonsets(self) -> None:
        for ds in self.store.all_of("apps", "daemonsets"):
            template = ds["spec"]["template"]
            template_hash = _hash(template)
            nodes = {n["metadata"]["name"] for n in self.eligible_nodes(template.get("spec") or {})}
            pods = self._owned("/v1/pods", ds)
            by_node: dict[str, dict] = {}
            for pod in pods:
                target = pod["metadata"].get("annotations", {}).get("kube-sim/daemon-node", "")
                if target not in nodes or pod["metadata"]["labels"].get("controller-revision-hash") != template_hash \
                        or target in by_node:
                    self._delete("/v1/pods", pod)
                else:
                    by_node[target] = pod
            for node in sorted(nodes - set(by_node)):
                body = self._new_pod("apps/v1/daemonsets", ds, template, {"controller-revision-hash": template_hash})
                body["metadata"].setdefault("annotations", {})["kube-sim/daemon-node"] = node
                spec = body["spec"]
                affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
                affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
                spec["tolerations"] = list(spec.get("tolerations") or []) + [
                    t for t in DAEMON_TOLERATIONS if t not in (spec.get("tolerations") or [])]
                self._create("/v1/pods", "apps/v1/daemonsets", ds, body)
            live = list(by_node.values())
            scheduled = sum(bool(p["spec"].get("nodeName")) for p in live)
            ready = sum(_ready(p) for p in live)
            status = {"currentNumberScheduled": scheduled, "desiredNumberScheduled": len(nodes), "numberMisscheduled": 0,
                      "numberReady": ready, "observedGeneration": ds["metadata"].get("generation")}
            status.update(_compact({"numberAvailable": ready, "updatedNumberScheduled": scheduled,
                                    "numberUnavailable": len(nodes) - ready}))
            self._put_status("apps/v1/daemonsets", ds, status)

    def jobs(self) -> None:
        for job in self.store.all_of("batch", "jobs"):
            spec = job["spec"]
            status = copy.deepcopy(job.get("status") or {})
            if any(c.get("type") == "Complete" for c in status.get("conditions") or []) or spec.get("suspend"):
                continue
            pods = self._owned("/v1/pods", job)
            succeeded = sum((p.get("status") or {}).get("phase") == "Succeeded" for p in pods)
            active = [p for p in pods if (p.get("status") or {}).get("phase") not in TERMINAL]
            completions = spec.get("completions", 1)
            room = min(spec.get("parallelism", 1), completions - succeeded) - len(active)
            labels = {"batch.kubernetes.io/job-name": job["metadata"]["name"], "job-name": job["metadata"]["name"],
                      "batch.kubernetes.io/controller-uid": job["metadata"]["uid"]}
            for _slot in range(max(0, room)):
                self._create("/v1/pods", "batch/v1/jobs", job, self._new_pod("batch/v1/jobs", job, spec["template"], labels))
            stamp = now()
            status.setdefault("startTime", stamp)
            status.update(active=len(active), succeeded=succeeded, ready=sum(_ready(p) for p in active))
            if succeeded >= completions:
                status["completionTime"] = stamp
                status["conditions"] = [
                    {"type": t, "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods",
                     "lastProbeTime": stamp, "lastTransitionTime": stamp} for t in ("SuccessCriteriaMet", "Complete")]
            self._put_status("batch/v1/jobs", job, _compact(status))

    # --- device plugin, scheduler, kubelet --------------------------------------------------------

    def plugin_config(self, pod: dict) -> tuple[str, int]:
        """(resource name, replicas per GPU) from the plugin's config file; ValueError says why the plugin would crash."""
        spec = pod["spec"]
        container = next(c for c in spec["containers"] if image_repository(str(c.get("image", ""))).endswith(PLUGIN_IMAGE_SUFFIX))
        path = next((e.get("value") for e in container.get("env") or [] if e.get("name") == "CONFIG_FILE"), None)
        args = [str(a) for a in (container.get("args") or []) + (container.get("command") or [])]
        for i, arg in enumerate(args):
            if arg.startswith("--config-file="):
                path = arg.split("=", 1)[1]
            elif arg == "--config-file" and i + 1 < len(args):
                path = args[i + 1]
        if not path:
            return GPU, 1
        mount = next((m for m in container.get("volumeMounts") or [] if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
        volume = next((v for v in spec.get("volumes") or [] if mount and v.get("name") == mount["name"]), None)
        if not volume or "configMap" not in volume:
            raise ValueError(f"unable to load config: open {path}: no such file or directory")
        relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
        items = volume["configMap"].get("items")
        key = next((i["key"] for i in items if i["path"] == relative), None) if items else relative
        cm = self.store.raw(self.t["/v1/configmaps"], pod["metadata"]["namespace"], volume["configMap"]["name"])
        content = ((cm or {}).get("data") or {}).get(key or "")
        if content is None:
            raise ValueError(f"unable to load config: open {path}: no such file or directory")
        try:
            config = yaml.safe_load(content) or {}
            if config.get("version") != "v1":
                raise ValueError(f"unknown config version: {config.get('version')!r}")
            mig = (config.get("flags") or {}).get("migStrategy", "none")
            if mig not in ("none", "single", "mixed"):
                raise ValueError(f"invalid --mig-strategy option: {mig}")
            slicing = (config.get("sharing") or {}).get("timeSlicing") or {}
            replicas = 1
            for resource in slicing.get("resources") or []:
                if resource.get("name") == GPU:
                    replicas = resource.get("replicas")
                    if not isinstance(replicas, int) or replicas < 1:
                        raise ValueError(f"invalid time-slicing replicas for {GPU}: {replicas!r}")
            shared = slicing.get("renameByDefault") and replicas > 1
            return (f"{GPU}.shared" if shared else GPU), replicas
        except (AttributeError, TypeError, yaml.YAMLError) as exc:
            raise ValueError(f"unable to parse config file: {exc}") from exc

    def _plugin_pods(self) -> dict[str, dict]:
        """Node name -> device-plugin pod bound to it."""
        plugin_ds = {ds["metadata"]["uid"] for ds in self.store.all_of("apps", "daemonsets")
                     if is_plugin_spec(ds["spec"]["template"].get("spec") or {})}
        found = {}
        for pod in self.store.all_of("", "pods"):
            owners = {r.get("uid") for r in pod["metadata"].get("ownerReferences") or []}
            if owners & plugin_ds and pod["spec"].get("nodeName"):
                found[pod["spec"]["nodeName"]] = pod
        return found

    def device_plugin(self) -> None:
        plugins = self._plugin_pods()
        for node in self.store.all_of("", "nodes"):
            name = node["metadata"]["name"]
            seed = self.seeds.get(name)
            status = copy.deepcopy(node.get("status") or {})
            for section in ("capacity", "allocatable"):
                status[section] = {k: v for k, v in (status.get(section) or {}).items() if not k.startswith(GPU)}
            pod = plugins.get(name)
            if seed and seed.gpus and pod is not None and _ready(pod):
                resource, replicas = self.plugin_config(pod)
                for section in ("capacity", "allocatable"):
                    status[section][resource] = str(seed.gpus * replicas)
            self._put_status("/v1/nodes", node, status)

    def scheduler(self) -> None:
        nodes = [n for n in self.store.all_of("", "nodes")
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in (n.get("status") or {}).get("conditions") or [])]
        all_nodes = len(self.store.all_of("", "nodes"))
        used: dict[str, dict[str, Decimal]] = {n["metadata"]["name"]: {} for n in nodes}
        counts = {n["metadata"]["name"]: 0 for n in nodes}
        pending = []
        for pod in self.store.all_of("", "pods"):
            bound = pod["spec"].get("nodeName")
            if bound in used and (pod.get("status") or {}).get("phase") not in TERMINAL:
                counts[bound] += 1
                for key, value in pod_requests(pod["spec"]).items():
                    used[bound][key] = used[bound].get(key, Decimal(0)) + value
            elif not bound and not pod["metadata"].get("deletionTimestamp"):
                pending.append(pod)
        for pod in sorted(pending, key=lambda p: p["metadata"]["creationTimestamp"]):
            reasons: dict[str, int] = {}
            fits = []
            for node in nodes:
                name = node["metadata"]["name"]
                why = fit(pod["spec"], node, used[name], counts[name])
                if why is None:
                    fits.append(node)
                else:
                    reasons[why] = reasons.get(why, 0) + 1
            stamp = now()
            if fits:
                node = min(fits, key=lambda n: (counts[n["metadata"]["name"]], n["metadata"]["name"]))
                name = node["metadata"]["name"]
                counts[name] += 1
                for key, value in pod_requests(pod["spec"]).items():
                    used[name][key] = used[name].get(key, Decimal(0)) + value
                pod["spec"]["nodeName"] = name
                pod["status"] = {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}],
                    "qosClass": "BestEffort"}
                self.bound_at[pod["metadata"]["uid"]] = time.monotonic()
                self.store.save(self.t["/v1/pods"], pod)
                continue
            unready = all_nodes - len(nodes)
            if unready:
                reasons["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"] = unready
            detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
            message = (f"0/{all_nodes} nodes are available: {detail}. preemption: 0/{all_nodes} nodes are available: "
                       f"{all_nodes} Preemption is not helpful for scheduling.")
            previous = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}.get("PodScheduled") or {}
            if previous.get("message") != message:
                pod["status"] = {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                     "lastProbeTime": None, "lastTransitionTime": stamp}]}
                self.store.save(self.t["/v1/pods"], pod)
                self.event("/v1/pods", pod, "Warning", "FailedScheduling", message, "default-scheduler")

    def kubelet(self) -> None:
        plugin_nodes = self._plugin_pods()
        for pod in self.store.all_of("", "pods"):
            node_name = pod["spec"].get("nodeName")
            uid = pod["metadata"]["uid"]
            if not node_name or (pod.get("status") or {}).get("phase") in TERMINAL:
                continue
            started = self.bound_at.setdefault(uid, time.monotonic())
            elapsed = time.monotonic() - started
            crash = None
            if plugin_nodes.get(node_name) is pod:
                seed = self.seeds.get(node_name)
                if seed and seed.device_plugin == "crashloop":
                    crash = seed.device_plugin_message
                else:
                    try:
                        self.plugin_config(pod)
                    except ValueError as exc:
                        crash = str(exc)
            job = any(r.get("kind") == "Job" for r in pod["metadata"].get("ownerReferences") or [])
            status = self._pod_status(pod, elapsed, crash, job, int(uid[:6], 16))
            if status != pod.get("status"):
                pod["status"] = status
                self.store.save(self.t["/v1/pods"], pod)

    def _pod_status(self, pod: dict, elapsed: float, crash: str | None, job: bool, index: int) -> dict:
        old = pod.get("status") or {}
        scheduled = next((c for c in old.get("conditions") or [] if c["type"] == "PodScheduled"), None) or {}
        since = scheduled.get("lastTransitionTime") or now()
        node = self.store.raw(self.t["/v1/nodes"], None, pod["spec"]["nodeName"]) or {}
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a["type"] == "InternalIP"), "10.0.0.1")
        requests = pod_requests(pod["spec"])
        qos = "BestEffort" if not requests else "Burstable"
        status = {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": since, "qosClass": qos}
        if elapsed < self.pod_ready_seconds:
            phase, ready, states = "Pending", False, {"waiting": {"reason": "ContainerCreating"}}
            restarts, last = 0, None
        elif crash:
            restarts = 1 + int((elapsed - self.pod_ready_seconds) / self.crash_seconds)
            phase, ready = "Running", False
            states = {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": f"back-off {min(300, 10 * 2 ** min(restarts, 5))}s restarting failed container"}}
            last = {"terminated": {"exitCode": 1, "reason": "Error", "message": crash, "startedAt": since, "finishedAt": since}}
        elif job and elapsed >= self.pod_ready_seconds + self.job_seconds:
            phase, ready, restarts, last = "Succeeded", False, 0, None
            states = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": since, "finishedAt": now()}}
        else:
            phase, ready, restarts, last = "Running", True, 0, None
            states = {"running": {"startedAt": since}}
        if phase != "Pending":
            status["podIP"] = f"10.244.{index // 250 % 250}.{index % 250 + 2}"
            status["podIPs"] = [{"ip": status["podIP"]}]
        status["phase"] = phase
        flag = "True" if ready else "False"
        conditions = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": since}]
        if phase != "Pending":
            conditions += [{"type": t, "status": "True" if t == "Initialized" else flag, "lastProbeTime": None,
                            "lastTransitionTime": since} for t in ("Initialized", "Ready", "ContainersReady")]
        status["conditions"] = conditions
        statuses = []
        for container in pod["spec"].get("containers") or []:
            entry = {"name": container["name"], "image": container.get("image", ""), "imageID": "",
                     "ready": ready, "started": phase == "Running" and not crash, "restartCount": restarts, "state": states}
            if last:
                entry["lastState"] = last
            statuses.append(entry)
        status["containerStatuses"] = statuses
        return status


__all__ = ["Controllers", "NodeSeed", "load_seed", "quantity"]
