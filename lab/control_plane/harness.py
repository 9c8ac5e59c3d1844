"""The lab cluster for pytest: start one on a seed file, reach it, inject faults, count requests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import audit
from .cluster import Cluster
from .seed import DEFAULT_SEED


@dataclass
class LabCluster:
    cluster: Cluster
    url: str
    kubeconfig: str
    admin_kubeconfig: str
    ca: str

    def dynamic_client(self, kubeconfig: str | None = None):
        from kubernetes import config, dynamic  # pylint: disable=import-outside-toplevel
        return dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig or self.kubeconfig))

    def set_faults(self, *rules: dict) -> dict:
        return audit.set_faults(self.cluster, list(rules))

    def clear_faults(self) -> None:
        audit.set_faults(self.cluster, None, clear=True)

    def requests(self, reset: bool = False) -> dict:
        """The product user's requests since the last reset, from the API server's audit log."""
        return audit.AuditLog(self.cluster).summary(reset=reset)

    def request_timeline(self) -> list[dict]:
        """The same requests one by one, in the order the API server received them."""
        return audit.AuditLog(self.cluster).timeline()

    @staticmethod
    def wait_for(predicate, timeout: float = 30.0, what: str = "a condition"):
        """Poll ``predicate`` until it returns something truthy; fail naming ``what`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.cluster.stop(quiet=True)


def start(state_dir: str | Path, nodes: str | Path = DEFAULT_SEED, pod_ready_seconds: float = 0.3) -> LabCluster:
    cluster = Cluster(state_dir)
    record = cluster.start(nodes, pod_ready_seconds=pod_ready_seconds)
    return LabCluster(cluster, record["url"], record["kubeconfig"], record["admin_kubeconfig"], record["ca"])
