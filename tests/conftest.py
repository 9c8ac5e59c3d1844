"""Fixtures shared by every test suite of hymt.gpu_mesh.

``kube_sim`` is a running simulated Kubernetes API server (lab/kube_sim) for the whole session:
``kube_sim.kubeconfig`` is its kubeconfig (TLS + bearer token), ``kube_sim.dynamic_client()`` a
kubernetes DynamicClient, and ``kube_sim.reset()`` / ``set_faults()`` / ``requests()`` its admin API.
Tests sharing it should use their own namespaces; ``kube_sim_factory`` starts extra simulators
(for example with another node seed file) that stop at the end of the session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.kube_sim import harness  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def kube_sim_factory(tmp_path_factory):
    """Start a simulator: ``kube_sim_factory("--nodes", path, ...)``; all are stopped at session end."""
    started = []

    def start(*args: str, env: dict | None = None) -> harness.KubeSim:
        sim = harness.start(str(tmp_path_factory.mktemp("kube_sim")), "--pod-ready-seconds", "0.3",
                            "--job-seconds", "0.3", "--crash-seconds", "0.5", *args, env=env)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def kube_sim(kube_sim_factory) -> harness.KubeSim:
    """The session's simulated cluster, seeded from lab/kube_sim/nodes.yaml."""
    return kube_sim_factory()
