"""Fixtures shared by every test suite of hymt.gpu_mesh.

``lab_cluster`` is the lab's Kubernetes for the whole session: upstream kube-apiserver, etcd,
controller-manager and scheduler built from their Go modules, KWOK nodes from
lab/control_plane/nodes.yaml (lab/control_plane). ``lab_cluster.kubeconfig`` is the product's
kubeconfig (through the lab's fault proxy), ``dynamic_client()`` a kubernetes DynamicClient,
``set_faults()`` / ``requests()`` the fault proxy's rules and the audit log's count of the
product's requests. Tests sharing it use their own namespaces; ``lab_cluster_factory(nodes=SEED)``
starts another cluster on another node seed file, stopped at the end of the session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.control_plane import harness  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def lab_cluster_factory(tmp_path_factory):
    """Start a lab cluster: ``lab_cluster_factory(nodes=path)``; all are stopped at session end."""
    started = []

    def start(**kwargs) -> harness.LabCluster:
        cluster = harness.start(tmp_path_factory.mktemp("lab-cluster"), **kwargs)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture(scope="session")
def lab_cluster(lab_cluster_factory) -> harness.LabCluster:
    """The session's lab cluster, seeded from lab/control_plane/nodes.yaml."""
    return lab_cluster_factory()
