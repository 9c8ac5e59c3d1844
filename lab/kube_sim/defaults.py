"""The defaults the API server fills into built-in kinds, so stored objects look like a real cluster's."""

from __future__ import annotations

import ipaddress


def _quantity(value):
    """A resource quantity as the API server serializes it: always a string (1 -> "1", 0.5 -> "500m")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if float(value).is_integer():
        return str(int(value))
    return "%dm" % round(value * 1000)


def _pod_spec(spec: dict, restart: str | None = "Always") -> None:
    if restart:
        spec.setdefault("restartPolicy", restart)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            image = str(container.get("image", ""))
            tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
            latest = image.endswith(":latest") or not tagged
            container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            resources = container.setdefault("resources", {})
            for bound in ("limits", "requests"):
                if isinstance(resources.get(bound), dict):
                    resources[bound] = {name: _quantity(v) for name, v in resources[bound].items()}
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")


def _template(obj: dict, restart: str | None = "Always") -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _pod_spec(template["spec"], restart)


class Defaulter:
    """Holds the cluster-wide counters defaults need (Service cluster IPs)."""

    def __init__(self) -> None:
        self._next_ip = ipaddress.ip_address("10.96.0.10")

    def __call__(self, kind: str, obj: dict) -> None:
        spec = obj.get("spec")
        if kind == "Namespace":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
            if not obj.get("status"):
                obj["status"] = {"phase": "Active"}
        if not isinstance(spec, dict):
            return
        if kind == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            _template(obj)
        elif kind == "ReplicaSet":
            spec.setdefault("replicas", 1)
            _template(obj)
        elif kind == "DaemonSet":
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
            _template(obj)
        elif kind == "Job":
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            _template(obj, restart=None)
        elif kind == "Pod":
            _pod_spec(spec)
            if not obj.get("status"):
                obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif kind == "Service":
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if "clusterIP" not in spec:
                spec["clusterIP"] = str(self._next_ip)
                spec["clusterIPs"] = [spec["clusterIP"]]
                self._next_ip += 1
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
