#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_verify_cluster
short_description: Check the GPU nodes, the Linkerd mesh and the translation service of a cluster in one call
version_added: 0.1.0
description:
  - The cluster side of the verify phase. Returns checks (id, status V(pass), V(warn), V(fail) or
    V(not_checked), summary, evidence, remedy) and the summaries the fleet report shows; it never
    fails on a failing check, so that the report is always written (M(hymt.gpu_mesh.fleet_report)).
  - C(cluster) - every GPU node is a node, Ready, schedulable (a cordon left by an unfinished
    M(hymt.gpu_mesh.k8s_node_drain) driver upgrade is named) and advertises the GPUs its host's
    facts report, with a Ready device-plugin pod (the judgement of M(hymt.gpu_mesh.k8s_gpu_capacity));
    the RuntimeClass and the device-plugin DaemonSet; and, where O(validation.enabled), a
    validation Job per GPU node (RuntimeClass, one GPU, O(validation.image) running
    O(validation.command)) that must complete before the node counts as ready for the workload.
  - C(mesh) - the checks of M(hymt.gpu_mesh.linkerd_check) (CRDs, control plane, webhooks, trust
    anchors and issuer with days to expiry, linkerd-viz).
  - C(service) - the translation Deployment serves with all replicas Ready; its Service has ready
    endpoints; every pod carries a C(linkerd-proxy) added by the injector (not templated into the
    Deployment) with mesh identity, at the control plane's version; a Linkerd Server selects the pods
    and every HTTPRoute on it has an AuthorizationPolicy; and, where O(prometheus) is set, Prometheus
    has an C(up) series of 1 for every Ready pod.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  scopes:
    description: Which concerns to check; the others are neither read nor reported.
    type: list
    elements: str
    choices: [cluster, mesh, service]
    default: [cluster, mesh, service]
  gpu_nodes:
    description:
      - The GPU nodes, with what their hosts' facts report (C(ansible_facts.nvidia_gpu_info)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Kubernetes node name.
        type: str
        required: true
      host:
        description: Inventory hostname, for messages.
        type: str
      gpus:
        description: Physical GPUs of the host; unset or 0 when its facts are missing.
        type: int
      mig_gpus:
        description: GPUs with MIG enabled.
        type: int
        default: 0
  device_plugin:
    description: How the device plugin was deployed (the nvidia_device_plugin role's settings).
    type: dict
    default: {}
    suboptions:
      namespace:
        description: Namespace of its DaemonSet.
        type: str
        default: kube-system
      daemonset:
        description: Name of its DaemonSet.
        type: str
        default: nvidia-device-plugin
      runtime_class:
        description: RuntimeClass of the NVIDIA runtime; empty when none is used.
        type: str
        default: nvidia
      node_labels:
        description: Labels the DaemonSet selects GPU nodes by.
        type: dict
        default: {nvidia.com/gpu.present: "true"}
      replicas:
        description: Time-slicing replicas per GPU.
        type: int
        default: 1
      rename_by_default:
        description: Whether shared GPUs are advertised as C(nvidia.com/gpu.shared).
        type: bool
        default: false
      mig_strategy:
        description: The plugin's MIG strategy.
        type: str
        choices: [none, single, mixed]
        default: none
  validation:
    description:
      - The GPU validation Jobs, one per Ready, schedulable GPU node with a free GPU. Nodes whose GPUs are all
        allocated are reported V(not_checked) with the pods that hold them. The Jobs are deleted when
        judged, so the run leaves nothing behind and reports no change; none is created in check mode.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Whether to run them.
        type: bool
        default: true
      namespace:
        description: Namespace to run them in (it must admit pods with a GPU and the NVIDIA RuntimeClass).
        type: str
        default: kube-system
      image:
        description: Image that runs O(validation.command); mirror it for air-gapped fleets.
        type: str
        default: nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0-ubuntu22.04
      command:
        description: Command that exits 0 only when the GPU works.
        type: list
        elements: str
        default: [sh, -c, nvidia-smi -L && /cuda-samples/vectorAdd]
      image_pull_secrets:
        description: Pull secrets of the image, in O(validation.namespace).
        type: list
        elements: str
        default: []
      runtime_class:
        description: RuntimeClass of the Jobs' pods; empty for the node's default runtime.
        type: str
        default: nvidia
      run_as_user:
        description: Non-root UID the Jobs' pods run as.
        type: int
        default: 1000
      timeout:
        description: Seconds the Jobs may take, image pull included.
        type: int
        default: 300
  linkerd:
    description: The Linkerd installation to check.
    type: dict
    default: {}
    suboptions:
      namespace:
        description: Control-plane namespace.
        type: str
        default: linkerd
      viz_namespace:
        description: Namespace of linkerd-viz; not set, it is not checked.
        type: str
      warn_days:
        description: Warn when a trust anchor or the issuer expires within this many days.
        type: int
        default: 60
  service:
    description: The translation service to check.
    type: dict
    default: {}
    suboptions:
      namespace:
        description: Its namespace.
        type: str
        default: translation-serving
      deployment:
        description: Its Deployment.
        type: str
        default: hy-mt-18b-inference
      service:
        description: Its Service.
        type: str
        default: hy-mt-service
  unmeshed_client:
    description:
      - A Job without a Linkerd proxy in the service's namespace that calls the Service and must be refused
        (HTTP 403 or no answer), as C(config.linkerd.io/default-inbound-policy=all-authenticated) and the
        collection's Server promise. Deleted once judged; none in check mode.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Whether to run it.
        type: bool
        default: true
      image:
        description: Image with C(sh) and C(curl); mirror it for air-gapped fleets.
        type: str
        default: docker.io/curlimages/curl:8.11.1
      image_pull_secrets:
        description: Pull secrets of the image, in the service's namespace.
        type: list
        elements: str
        default: []
      run_as_user:
        description: Non-root UID of its pod.
        type: int
        default: 100
      timeout:
        description: Seconds it may take, image pull included.
        type: int
        default: 120
  smoke_job:
    description:
      - The smoke translations from a meshed client - a Job in the service's namespace that runs the
        translation_service role's smoke script (its ConfigMap and ServiceAccount, which the service's
        AuthorizationPolicy admits) in the server's image, on the nodes and with the pull secrets and security
        context of the Deployment's pods, sending O(smoke_job.requests) translations of each of
        O(smoke_job.pairs) through the Service. Its log line is returned as RV(smoke) for
        M(hymt.gpu_mesh.fleet_report); the Job is deleted once read. None in check mode.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Whether to run it.
        type: bool
        default: false
      config_map:
        description: ConfigMap with C(smoke_translate.py) and C(hymt_prompts.py) (the translation_service role's).
        type: str
        default: hy-mt-18b-inference-smoke
      service_account:
        description: ServiceAccount the Job runs as, admitted by the service's AuthorizationPolicy.
        type: str
        default: hy-mt-18b-inference-smoke
      image:
        description: Image with python3; empty for the Deployment's server image, already on its nodes.
        type: str
        default: ""
      pairs:
        description: Language pairs, each a dict with C(source), C(target) and C(text).
        type: list
        elements: dict
        default: []
      requests:
        description: Translations per pair.
        type: int
        default: 10
      server_api:
        description: The server's API, V(vllm) or V(transformers).
        type: str
        choices: [vllm, transformers]
        default: vllm
      model:
        description: Model name to request; empty asks the server.
        type: str
        default: ""
      api_key_secret:
        description: Secret with the service's API key under C(api-key); empty when the service has none.
        type: str
        default: ""
      timeout:
        description: Seconds the Job may take.
        type: int
        default: 300
  prometheus:
    description:
      - The Prometheus that scrapes the model server, as C(namespace/service:port) reached through the API
        server's service proxy (linkerd-viz's bundled one is C(linkerd-viz/prometheus:9090)); empty,
        C(service.metrics_scraped) is not checked and says so.
    type: str
    default: ""
extends_documentation_fragment:
  - hymt.gpu_mesh.k8s_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the same; creates no validation Job and reports those checks as not checked.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - kubernetes (Python library)
  - cryptography
notes:
  - API calls per run - 5 for C(cluster), 7 for C(mesh) (8 with linkerd-viz), 6 for C(service), one Prometheus
    query; for the validation Jobs one create per node, one Job and one Pod list every 2 seconds while
    they run and one delete-collection; the same for the unmeshed caller's one Job. Nothing else grows
    with the number of nodes.
  - The issuer Secret is read for its certificate only (as M(hymt.gpu_mesh.linkerd_check) does).
seealso:
  - module: hymt.gpu_mesh.nvidia_host_verify
  - module: hymt.gpu_mesh.fleet_report
  - module: hymt.gpu_mesh.linkerd_check
  - module: hymt.gpu_mesh.k8s_gpu_capacity
"""

EXAMPLES = r"""
- name: Check the GPU nodes, the mesh and the translation service
  hymt.gpu_mesh.fleet_verify_cluster:
    gpu_nodes:
      - {name: gpu-1, host: gpu-1.example.com, gpus: 8}
    linkerd: {viz_namespace: linkerd-viz, warn_days: 60}
    prometheus: linkerd-viz/prometheus:9090
  register: cluster_checks
"""

RETURN = r"""
checks:
  description: Every check made, in the shape of the fleet report's checks.
  returned: always
  type: list
  elements: dict
  sample:
    - {id: service.deployment, scope: service, subject: Deployment translation-serving/hy-mt-18b-inference,
       node: null, status: fail, summary: "scaled to 0 replicas: no pod serves translations", evidence: spec.replicas=0,
       remedy: ansible-playbook hymt.gpu_mesh.translation}
nodes:
  description: One summary per GPU node (ready, schedulable, GPUs allocatable/expected, validation, upgrade state).
  returned: always
  type: list
  elements: dict
mesh:
  description: Control-plane version, trust anchors and issuer with days left; empty when the mesh is not checked.
  returned: always
  type: dict
service:
  description: The Deployment's replicas and its pods with their proxy and readiness.
  returned: always
  type: dict
smoke:
  description:
    - With O(smoke_job.enabled), the meshed smoke Job's results, one per pair (C(item), C(failed), C(msg),
      C(translations) with C(translation) and C(latency_s)), with C(mode), C(url) and C(reason) (why none
      were sent, else null); null otherwise.
  returned: always
  type: dict
"""

import json
import time
import traceback
import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_checks, fleet_cluster, gpu_capacity, k8s_common

if k8s_common.HAS_KUBERNETES:
    from urllib3.exceptions import HTTPError
else:
    HTTPError = Exception


def argspec():
    spec = dict(k8s_common.AUTH_ARG_SPEC)
    spec.update(
        scopes=dict(type="list", elements="str", choices=["cluster", "mesh", "service"],
                    default=["cluster", "mesh", "service"]),
        gpu_nodes=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            host=dict(type="str"),
            gpus=dict(type="int"),
            mig_gpus=dict(type="int", default=0),
        )),
        device_plugin=dict(type="dict", default={}, options=gpu_capacity.plugin_arg_spec()),
        validation=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True),
            namespace=dict(type="str", default="kube-system"),
            image=dict(type="str", default="nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0-ubuntu22.04"),
            command=dict(type="list", elements="str", default=["sh", "-c", "nvidia-smi -L && /cuda-samples/vectorAdd"]),
            image_pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
            runtime_class=dict(type="str", default="nvidia"),
            run_as_user=dict(type="int", default=1000),
            timeout=dict(type="int", default=300),
        )),
        linkerd=dict(type="dict", default={}, options=dict(
            namespace=dict(type="str", default="linkerd"),
            viz_namespace=dict(type="str"),
            warn_days=dict(type="int", default=60),
        )),
        service=dict(type="dict", default={}, options=dict(
            namespace=dict(type="str", default="translation-serving"),
            deployment=dict(type="str", default="hy-mt-18b-inference"),
            service=dict(type="str", default="hy-mt-service"),
        )),
        unmeshed_client=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True),
            image=dict(type="str", default="docker.io/curlimages/curl:8.11.1"),
            image_pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
            run_as_user=dict(type="int", default=100),
            timeout=dict(type="int", default=120),
        )),
        smoke_job=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=False),
            config_map=dict(type="str", default="hy-mt-18b-inference-smoke"),
            service_account=dict(type="str", default="hy-mt-18b-inference-smoke"),
            image=dict(type="str", default=""),
            pairs=dict(type="list", elements="dict", default=[]),
            requests=dict(type="int", default=10),
            server_api=dict(type="str", choices=["vllm", "transformers"], default="vllm"),
            model=dict(type="str", default=""),
            api_key_secret=dict(type="str", default="", no_log=False),
            timeout=dict(type="int", default=300),
        )),
        prometheus=dict(type="str", default=""),
    )
    return spec


def run_jobs(api, jobs, namespace, timeout, log_container=None, clock=time.monotonic, sleep=time.sleep):
    """Create the Jobs [(key, Job)] of one verify run, wait for each to finish (or timeout), delete them.

    Returns ({key: (status, evidence)} as fleet_cluster.job_outcome gives them, {key: log}); the log of
    ``log_container`` of each Job's pod is read before the Jobs are deleted, when it is given.
    """
    batch = k8s_common.k8s_client.BatchV1Api(api)
    core = k8s_common.k8s_client.CoreV1Api(api)
    if not jobs:
        return {}, {}
    run_id = jobs[0][1]["metadata"]["labels"]["gpu-mesh.hymt.io/verify-run"]
    selector = "gpu-mesh.hymt.io/verify-run=%s" % run_id
    outcomes = {key: (None, "not created") for key, job in jobs}
    logs = {}
    try:
        for key, job in list(jobs):
            try:
                batch.create_namespaced_job(namespace, job)
            except k8s_common.ApiException as exc:
                outcomes[key] = ("fail", "the Job could not be created: %s %s" % (exc.status, exc.reason))
                jobs.remove((key, job))
        deadline = clock() + timeout
        while True:
            listed = {j["metadata"]["name"]: j for j in
                      k8s_common.read_json(batch.list_namespaced_job, namespace, label_selector=selector)["items"]}
            pods = k8s_common.read_json(core.list_namespaced_pod, namespace, label_selector=selector)["items"]
            mine = {}
            for key, job in jobs:
                name = job["metadata"]["name"]
                mine[key] = [p for p in pods if (p["metadata"].get("labels") or {}).get("job-name") == name]
                outcomes[key] = fleet_cluster.job_outcome(listed.get(name) or job, mine[key])
            if all(outcome[0] is not None for outcome in outcomes.values()) or clock() >= deadline:
                break
            sleep(2)
        for key, found in mine.items() if log_container else ():
            for pod in found:
                try:
                    logs[key] = core.read_namespaced_pod_log(pod["metadata"]["name"], namespace, container=log_container)
                except k8s_common.ApiException as exc:
                    logs[key] = "(its log could not be read: %s %s)" % (exc.status, exc.reason)
        return outcomes, logs
    finally:
        batch.delete_collection_namespaced_job(namespace, label_selector=selector, propagation_policy="Background")


def query_prometheus(api, ref, query):
    """(answer, error) of a Prometheus instant query through the API server's service proxy."""
    namespace, rest = ref.split("/", 1)
    path = "/api/v1/namespaces/%s/services/%s/proxy/api/v1/query" % (namespace, rest)
    try:
        response = api.call_api(path, "GET", query_params=[("query", query)], auth_settings=["BearerToken"],
                                _preload_content=False, _return_http_data_only=True)
        return json.loads(response.data), None
    except (k8s_common.ApiException, HTTPError, ValueError) as exc:
        return None, "%s (GET %s?query=%s)" % (getattr(exc, "reason", None) or exc, path, query)


def unmeshed_caller(module, api, snapshot, service, client):
    """The service.unmeshed_refused check: a Job without a proxy calls the Service."""
    url = fleet_cluster.service_url(snapshot["service"], service)
    subject = "Service %s/%s" % (service["namespace"], service["service"])
    if url is None:
        return fleet_checks.check("service.unmeshed_refused", "not_checked",
                                  "not checked, because the Service does not exist or has no port", subject=subject)
    if module.check_mode:
        return fleet_checks.check("service.unmeshed_refused", "not_checked",
                                  "not checked, because check mode creates no Job", subject=subject)
    job = fleet_cluster.unmeshed_job(url, uuid.uuid4().hex[:12], service, client)
    outcome = run_jobs(api, [(fleet_cluster.UNMESHED_KEY, job)], service["namespace"], client["timeout"])[0]
    return fleet_cluster.unmeshed_check(outcome[fleet_cluster.UNMESHED_KEY], url, service)


def meshed_smoke(module, api, snapshot, service, smoke):
    """The smoke section's input: the translate-loop-shaped results of the meshed smoke Job, or the reason there are none."""
    url = fleet_cluster.service_url(snapshot["service"], service)
    section = {"mode": "job", "url": url or "", "results": [], "reason": None}
    if url is None or snapshot["deployment"] is None:
        section["reason"] = "the Service or the Deployment does not exist"
    elif module.check_mode:
        section["reason"] = "check mode creates no Job"
    else:
        job = fleet_cluster.smoke_job(snapshot["deployment"], url, uuid.uuid4().hex[:12], smoke)
        outcomes, logs = run_jobs(api, [("smoke", job)], service["namespace"], smoke["timeout"], log_container="translate")
        status, evidence = outcomes["smoke"]
        section["results"] = fleet_cluster.smoke_results(logs.get("smoke"), smoke["pairs"],
                                                         "%s: %s" % (status or "not finished", evidence))
    return section


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not k8s_common.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    scopes = params["scopes"]
    if params["prometheus"] and ("/" not in params["prometheus"] or ":" not in params["prometheus"].split("/", 1)[1]):
        module.fail_json(msg="prometheus must be namespace/service:port, got %r" % params["prometheus"])
    try:
        api = k8s_common.api_client(params)
        snapshot = fleet_cluster.read_snapshot(api, params["device_plugin"], params["linkerd"], params["service"], scopes)
        checks, nodes, mesh, service = fleet_cluster.evaluate(snapshot, params)
        if "service" in scopes:
            if params["prometheus"]:
                answer, error = query_prometheus(api, params["prometheus"], fleet_cluster.scrape_query(params["service"]))
                checks.append(fleet_cluster.scrape_check(answer, error, service.get("pods") or [], params["service"],
                                                         "Prometheus %s" % params["prometheus"]))
            else:
                checks.append(fleet_checks.check("service.metrics_scraped", "not_checked",
                                                 "not checked, because no Prometheus is configured (prometheus is empty)",
                                                 subject="Deployment %s/%s" % (params["service"]["namespace"],
                                                                               params["service"]["deployment"])))
        validation = params["validation"]
        if "cluster" in scopes and validation["enabled"]:
            runnable, skipped = fleet_cluster.plan_validation(snapshot, nodes, params["device_plugin"])
            results = {}
            if module.check_mode:
                skipped = [(n, "check mode creates no validation Job") for n in runnable] + skipped
            else:
                resource = gpu_capacity.resource_name(params["device_plugin"]["replicas"],
                                                      params["device_plugin"]["rename_by_default"])
                run_id = uuid.uuid4().hex[:12]
                jobs = [(n, fleet_cluster.validation_job(n, run_id, validation, resource)) for n in runnable]
                results = run_jobs(api, jobs, validation["namespace"], validation["timeout"])[0]
            found = fleet_cluster.validation_checks(results, skipped, validation)
            checks += found
            by_node = {c["node"]: c["status"] for c in found}
            for summary in nodes:
                summary["validation"] = by_node.get(summary["name"], "not_checked")
        client = params["unmeshed_client"]
        if "service" in scopes and client["enabled"]:
            checks.append(unmeshed_caller(module, api, snapshot, params["service"], client))
        smoke = None
        if "service" in scopes and params["smoke_job"]["enabled"]:
            smoke = meshed_smoke(module, api, snapshot, params["service"], params["smoke_job"])
    except (k8s_common.K8sConnectionError, k8s_common.ApiException, HTTPError) as exc:
        module.fail_json(msg="Failed to read the cluster: %s" % exc, exception=traceback.format_exc())
    module.exit_json(changed=False, checks=checks, nodes=nodes, mesh=mesh, service=service, smoke=smoke,
                     summary=fleet_checks.counts(checks))


if __name__ == "__main__":
    main()
