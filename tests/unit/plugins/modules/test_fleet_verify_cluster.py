# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_verify_cluster's reads and Jobs against the lab's upstream API server (lab/control_plane).

The judgements are tested with tables in test_fleet_cluster.py; this checks what the module does with a
real API server: every read of a cluster where nothing is installed answers "absent" rather than
failing, and a verify Job is created, judged and deleted, with no translation claimed from a pod that
logged none (KWOK runs no container, so its log cannot be read).
"""

from __future__ import annotations

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_cluster, k8s_common
from ansible_collections.hymt.gpu_mesh.plugins.modules import fleet_verify_cluster

# Names no other test of the session's shared lab cluster creates: this one reads a cluster without them.
DEVICE_PLUGIN = {"namespace": "kube-system", "daemonset": "verify-absent-device-plugin", "runtime_class": "verify-absent",
                 "node_labels": {"nvidia.com/gpu.present": "true"}, "replicas": 1, "rename_by_default": False,
                 "mig_strategy": "none"}
SERVICE = {"namespace": "verify-absent", "deployment": "hy-mt", "service": "hy-mt-service"}
LINKERD = {"namespace": "verify-absent-linkerd", "warn_days": 60}


def test_a_cluster_without_the_fleet_is_reported_not_crashed_on(lab_cluster):
    api = k8s_common.api_client({"kubeconfig": lab_cluster.admin_kubeconfig})
    scopes = ["cluster", "mesh", "service"]
    snapshot = fleet_cluster.read_snapshot(api, DEVICE_PLUGIN, LINKERD, SERVICE, scopes)
    assert snapshot["daemonset"] is None and snapshot["runtime_class"] is None
    assert snapshot["deployment"] is None and snapshot["service"] is None and snapshot["endpoint_slices"] == []
    checks, nodes, mesh, service = fleet_cluster.evaluate(snapshot, {
        "scopes": scopes, "gpu_nodes": [{"name": "hymt-lab-gpu-1", "host": "gpu-1", "gpus": 2}],
        "device_plugin": DEVICE_PLUGIN, "linkerd": LINKERD, "service": SERVICE})
    status = {c["id"]: c["status"] for c in checks}
    assert status["cluster.device_plugin"] == "fail" and status["cluster.node_ready"] == "pass"
    assert status["service.deployment"] == "fail" and status["service.endpoints"] == "fail"
    assert status["service.policy"] == "not_checked" and status["cluster.runtime_class"] == "fail"
    assert any(c["scope"] == "mesh" and c["status"] == "fail" for c in checks)
    assert nodes[0]["ready"] is True and service["replicas"] is None and mesh["trust_anchors"] == []


def test_a_smoke_job_is_created_judged_and_deleted_and_no_log_means_no_translation(lab_cluster):
    api = k8s_common.api_client({"kubeconfig": lab_cluster.admin_kubeconfig})
    deployment = {"metadata": {"name": "hy-mt", "namespace": "default"}, "spec": {"template": {"spec": {
        "tolerations": [{"operator": "Exists"}], "containers": [{"name": "server", "image": "mirror/vllm:1"}]}}}}
    pairs = [{"source": "en", "target": "zh", "text": "one"}]
    smoke = {"pairs": pairs, "requests": 2, "server_api": "vllm", "model": "", "timeout": 60, "config_map": "hy-mt-smoke",
             "service_account": "default", "image": "", "api_key_secret": ""}
    job = fleet_cluster.smoke_job(deployment, "http://hy-mt-service.default.svc:8000", "testrun0001", smoke)
    outcomes, logs = fleet_verify_cluster.run_jobs(api, [("smoke", job)], "default", 60, log_container="translate")
    # KWOK completes the Job's pod without running it; the Job controller marks the Job Complete.
    assert outcomes["smoke"][0] == "pass", outcomes
    results = fleet_cluster.smoke_results(logs.get("smoke"), pairs, "pass")
    assert results[0]["failed"] is True and results[0]["translations"] == []
    batch = k8s_common.k8s_client.BatchV1Api(api)
    left = k8s_common.read_json(batch.list_namespaced_job, "default", label_selector="gpu-mesh.hymt.io/verify-run=testrun0001")
    assert left["items"] == [] or all(j["metadata"].get("deletionTimestamp") for j in left["items"])
