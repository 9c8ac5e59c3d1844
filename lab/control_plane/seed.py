"""Node seed files: the lab's nodes, which KWOK keeps alive in place of kubelets.

A seed file lists nodes with: name, gpus (physical GPUs the device plugin may advertise), cpu,
memory, pods, labels, taints, control_plane, device_plugin (healthy | crashloop) and
device_plugin_message (what a crash-looping plugin logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = HERE / "nodes.yaml"
# KWOK manages the nodes that carry this annotation and no others.
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")


@dataclass
class NodeSeed:
    name: str
    gpus: int = 0
    cpu: str = "16"
    memory: str = "64Gi"
    pods: str = "110"
    labels: dict = field(default_factory=dict)
    taints: list = field(default_factory=list)
    control_plane: bool = False
    device_plugin: str = "healthy"
    device_plugin_message: str = "failed to initialize NVML: ERROR_LIBRARY_NOT_FOUND"

    def node(self) -> dict:
        """The Node object registered for this seed: what a kubelet would register, status included."""
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  **({"node-role.kubernetes.io/control-plane": ""} if self.control_plane else {}), **self.labels}
        resources = {"cpu": str(self.cpu), "memory": str(self.memory), "pods": str(self.pods)}
        return {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.name, "labels": labels, "annotations": dict([KWOK_ANNOTATION])},
            "spec": {"taints": list(self.taints)} if self.taints else {},
            "status": {"capacity": resources, "allocatable": dict(resources),
                       "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                                    "osImage": "Debian GNU/Linux 12 (bookworm) (KWOK lab node)"}},
        }


def load(path: str | Path) -> list[NodeSeed]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    seeds = []
    for i, entry in enumerate(data.get("nodes") or []):
        unknown = set(entry) - set(NodeSeed.__dataclass_fields__)
        if unknown or "name" not in entry:
            raise SystemExit(f"control_plane: {path}: nodes[{i}] has unknown keys {sorted(unknown)} or no name")
        seed = NodeSeed(**entry)
        if seed.device_plugin not in ("healthy", "crashloop"):
            raise SystemExit(f"control_plane: {path}: nodes[{i}].device_plugin must be healthy or crashloop")
        seeds.append(seed)
    if not seeds:
        raise SystemExit(f"control_plane: {path} lists no nodes")
    return seeds
