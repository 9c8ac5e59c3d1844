"""Lab stand-in for what NVIDIA's device plugin does through a kubelet: advertise GPUs on a node.

Home-made, because the real k8s-device-plugin needs a kubelet, NVML and GPUs, none of which the lab
has. It stands in for the plugin's registration with the kubelet's device manager (the part that
makes `nvidia.com/gpu` appear in a Node's capacity) and for the plugin crashing on a bad config
file; everything else — the DaemonSet, its pods, scheduling, readiness — is upstream Kubernetes
and KWOK.

Rules, per node of the seed file:
- a pod of a DaemonSet whose container image repository ends in ``k8s-device-plugin`` is the
  plugin; while such a pod is Ready on a node seeded with ``gpus: N``, the node advertises
  N x (time-slicing replicas) of ``nvidia.com/gpu`` (``nvidia.com/gpu.shared`` with
  renameByDefault), read from the plugin's config file in its mounted ConfigMap, as the plugin
  reads it; otherwise the node advertises no GPU;
- a node seeded ``device_plugin: crashloop``, or a config file the plugin would refuse, makes the
  plugin pod crash-loop: CrashLoopBackOff with a growing restartCount and the reason in
  ``lastState.terminated.message``, and no GPU;
- a node annotated ``lab.hymt.io/simulated-unhealthy-gpus: "K"`` (tests only) advertises K GPUs
  fewer, as the real plugin does once it marks GPUs unhealthy (an Xid 79 "fallen off the bus").
"""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from .seed import load

GPU = "nvidia.com/gpu"
PLUGIN_IMAGE_SUFFIX = "k8s-device-plugin"
CRASH_SECONDS = 5.0
UNHEALTHY_ANNOTATION = "lab.hymt.io/simulated-unhealthy-gpus"


def image_repository(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _slash, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def plugin_container(pod_spec: dict) -> dict | None:
    return next((c for c in pod_spec.get("containers") or []
                 if image_repository(str(c.get("image", ""))).endswith(PLUGIN_IMAGE_SUFFIX)), None)


def ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def plugin_config(pod: dict, configmaps: dict) -> tuple[str, int]:
    """(resource name, replicas per GPU) from the plugin's config file; ValueError says why the plugin would crash."""
    spec = pod["spec"]
    container = plugin_container(spec) or {}
    path = next((e.get("value") for e in container.get("env") or [] if e.get("name") == "CONFIG_FILE"), None)
    args = [str(a) for a in (container.get("args") or []) + (container.get("command") or [])]
    for i, arg in enumerate(args):
        if arg.startswith("--config-file="):
            path = arg.split("=", 1)[1]
        elif arg == "--config-file" and i + 1 < len(args):
            path = args[i + 1]
    if not path:
        return GPU, 1
    mount = next((m for m in container.get("volumeMounts") or []
                  if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
    volume = next((v for v in spec.get("volumes") or [] if mount and v.get("name") == mount["name"]), None)
    if not volume or "configMap" not in volume:
        raise ValueError(f"unable to load config: open {path}: no such file or directory")
    relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
    items = volume["configMap"].get("items")
    key = next((i["key"] for i in items if i["path"] == relative), None) if items else relative
    data = configmaps.get((pod["metadata"]["namespace"], volume["configMap"]["name"])) or {}
    content = data.get(key or "")
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


def crash_status(pod: dict, message: str, now: datetime.datetime) -> dict:
    """The status a kubelet reports for a container that keeps exiting with ``message``."""
    created = datetime.datetime.fromisoformat(pod["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    restarts = 1 + int((now - created).total_seconds() / CRASH_SECONDS)
    since = pod["metadata"]["creationTimestamp"]
    old = pod.get("status") or {}
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": since}] + [
        {"type": t, "status": "True" if t == "Initialized" else "False", "lastTransitionTime": since,
         **({} if t == "Initialized" else {"reason": "ContainersNotReady",
                                           "message": "containers with unready status"})}
        for t in ("Initialized", "Ready", "ContainersReady")]
    waiting = {"reason": "CrashLoopBackOff",
               "message": f"back-off {min(300, 10 * 2 ** min(restarts, 5))}s restarting failed container"}
    terminated = {"exitCode": 1, "reason": "Error", "message": message, "startedAt": since, "finishedAt": since}
    statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "started": False,
                 "restartCount": restarts, "state": {"waiting": waiting}, "lastState": {"terminated": terminated}}
                for c in pod["spec"].get("containers") or []]
    return {"phase": "Running", "conditions": conditions, "containerStatuses": statuses,
            **{k: old[k] for k in ("hostIP", "hostIPs", "podIP", "podIPs", "startTime", "qosClass") if k in old}}


class Api:
    def __init__(self, kubeconfig: str):
        config = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8"))
        self.url = config["clusters"][0]["cluster"]["server"]
        self.token = config["users"][0]["user"]["token"]
        self.context = ssl.create_default_context(cafile=config["clusters"][0]["cluster"]["certificate-authority"])

    def call(self, method: str, path: str, body=None, content_type: str = "application/merge-patch+json"):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        with urllib.request.urlopen(request, context=self.context, timeout=15) as response:
            return json.loads(response.read() or b"{}")

    def items(self, path: str) -> list[dict]:
        return self.call("GET", path)["items"]


def reconcile(api: Api, seeds: dict) -> None:
    daemonsets = {ds["metadata"]["uid"] for ds in api.items("/apis/apps/v1/daemonsets")
                  if plugin_container(ds["spec"]["template"].get("spec") or {})}
    configmaps = {(cm["metadata"]["namespace"], cm["metadata"]["name"]): cm.get("data") or {}
                  for cm in api.items("/api/v1/configmaps")} if daemonsets else {}
    plugins: dict[str, dict] = {}
    for pod in api.items("/api/v1/pods"):
        owners = {r.get("uid") for r in pod["metadata"].get("ownerReferences") or []}
        if owners & daemonsets and pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
            plugins[pod["spec"]["nodeName"]] = pod
    now = datetime.datetime.now(datetime.timezone.utc)
    nodes = api.items("/api/v1/nodes")
    unhealthy = {n["metadata"]["name"]: int((n["metadata"].get("annotations") or {}).get(UNHEALTHY_ANNOTATION, 0))
                 for n in nodes}
    advertised: dict[str, dict] = {}
    for node_name, pod in plugins.items():
        seed = seeds.get(node_name)
        crash = seed.device_plugin_message if seed and seed.device_plugin == "crashloop" else None
        resource = None
        if crash is None:
            try:
                resource = plugin_config(pod, configmaps)
            except ValueError as exc:
                crash = str(exc)
        phase = (pod.get("status") or {}).get("phase")
        if crash and phase in ("Running", "Pending") and (pod.get("status") or {}).get("podIP"):
            status = crash_status(pod, crash, now)
            old = [s.get("restartCount") for s in (pod.get("status") or {}).get("containerStatuses") or []]
            if old != [s["restartCount"] for s in status["containerStatuses"]] or ready(pod):
                api.call("PATCH", f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/"
                                  f"{pod['metadata']['name']}/status", {"status": status})
        elif resource and seed and seed.gpus and ready(pod):
            name, replicas = resource
            advertised[node_name] = {name: str(max(seed.gpus - unhealthy.get(node_name, 0), 0) * replicas)}
    for node in nodes:
        name = node["metadata"]["name"]
        if name not in seeds:
            continue
        status = node.get("status") or {}
        want = advertised.get(name, {})
        patch = {}
        for section in ("capacity", "allocatable"):
            have = {k: v for k, v in (status.get(section) or {}).items() if k.startswith(GPU)}
            if have != want:
                patch[section] = {**{k: None for k in have}, **want}
        if patch:
            api.call("PATCH", f"/api/v1/nodes/{name}/status", {"status": patch})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.control_plane.device_plugin_standin",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--seed", required=True, help="the node seed file (GPUs per node, crash-looping plugins)")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    seeds = {s.name: s for s in load(args.seed)}
    api = Api(args.kubeconfig)
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("device-plugin stand-in (lab, not NVIDIA's plugin): advertising GPUs of "
          f"{sum(1 for s in seeds.values() if s.gpus)} seeded GPU nodes", flush=True)
    while running:
        try:
            reconcile(api, seeds)
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            print(f"device-plugin stand-in: {exc}", flush=True)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
