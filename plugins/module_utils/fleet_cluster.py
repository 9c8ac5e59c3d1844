# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster, mesh and service checks of the verify phase (module fleet_verify_cluster).

``read_snapshot()`` reads the cluster in a fixed number of API calls whatever the fleet size;
``evaluate()`` turns that snapshot into checks of the shape of fleet_checks, plus the summaries the
fleet report shows (nodes, mesh, service). The judging of each concern stays with its owner and is
reused here: gpu_capacity.assess (does a node advertise its GPUs), linkerd_health (the control
plane, identity and data plane), driver_upgrade (the state label of an unfinished upgrade). GPU
validation Jobs are planned here (plan_validation, validation_job) and run by the module.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import driver_upgrade, gpu_capacity, linkerd_health
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.fleet_checks import check
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.k8s_common import k8s_client, read_json

POLICY_GROUP = "policy.linkerd.io"
INJECT_ANNOTATION = "linkerd.io/inject"
IDENTITY_ANNOTATION = "linkerd.io/identity-mode"
VALIDATION_LABEL = "gpu-mesh.hymt.io/verify"
VALIDATION_LABEL_VALUE = "gpu-validation"
TERMINAL = ("Succeeded", "Failed")


def _meta(obj):
    return obj.get("metadata") or {}


def _labels(obj):
    return _meta(obj).get("labels") or {}


def _annotations(obj):
    return _meta(obj).get("annotations") or {}


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# Reading -------------------------------------------------------------------------------------

def _list_custom(custom, group, version, namespace, plural):
    """Items of a namespaced custom resource, [] when its CRD is not installed (404)."""
    listed = read_json(custom.list_namespaced_custom_object, group, version, namespace, plural)
    return None if listed is None else listed.get("items") or []


def read_snapshot(api, device_plugin, linkerd, service, scopes):
    """Everything evaluate() judges, as the API's own JSON; only the scopes asked for are read.

    API calls: cluster 5 (nodes, the plugin DaemonSet, its pods, the RuntimeClass, non-terminal pods of
    all namespaces); mesh those of linkerd_health.gather (7, 8 with linkerd-viz); service 6 (Deployment,
    Service, its EndpointSlices, Servers, HTTPRoutes, AuthorizationPolicies).
    """
    core = k8s_client.CoreV1Api(api)
    snapshot = {"nodes": None, "pods": None}
    if "cluster" in scopes or "service" in scopes:
        reader = gpu_capacity.ClusterReader(api, device_plugin["namespace"], device_plugin["daemonset"],
                                            device_plugin["runtime_class"])
        snapshot["nodes"], snapshot["plugin_pods"], snapshot["daemonset"], snapshot["runtime_class"] = reader()
        snapshot["pods"] = read_json(core.list_pod_for_all_namespaces,
                                     field_selector="status.phase!=Succeeded,status.phase!=Failed")["items"]
    if "mesh" in scopes and linkerd.get("enabled", True):
        snapshot["linkerd"] = linkerd_health.gather(api, linkerd["namespace"], viz_namespace=linkerd.get("viz_namespace"))
    if "service" in scopes:
        apps = k8s_client.AppsV1Api(api)
        discovery = k8s_client.DiscoveryV1Api(api)
        custom = k8s_client.CustomObjectsApi(api)
        ns = service["namespace"]
        snapshot["deployment"] = read_json(apps.read_namespaced_deployment, service["deployment"], ns)
        snapshot["service"] = read_json(core.read_namespaced_service, service["service"], ns)
        slices = read_json(discovery.list_namespaced_endpoint_slice, ns,
                           label_selector="kubernetes.io/service-name=%s" % service["service"])
        snapshot["endpoint_slices"] = (slices or {}).get("items") or []
        snapshot["servers"] = _list_custom(custom, POLICY_GROUP, "v1beta3", ns, "servers")
        snapshot["routes"] = _list_custom(custom, POLICY_GROUP, "v1beta3", ns, "httproutes")
        snapshot["authorizations"] = _list_custom(custom, POLICY_GROUP, "v1alpha1", ns, "authorizationpolicies")
    return snapshot


# Cluster -------------------------------------------------------------------------------------

def _node_condition(node, kind):
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def _gpu_requests(pod, resource):
    total = 0
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        limits = (container.get("resources") or {}).get("limits") or {}
        requests = (container.get("resources") or {}).get("requests") or {}
        value = limits.get(resource, requests.get(resource))
        if value is not None:
            try:
                total += int(value)
            except ValueError:
                continue
    return total


def gpu_users(pods, node_name, resource):
    """[(namespace/name, GPUs)] of the live pods on a node that request GPUs of ``resource``."""
    out = []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node_name or _meta(pod).get("deletionTimestamp"):
            continue
        count = _gpu_requests(pod, resource)
        if count:
            out.append(("%s/%s" % (_meta(pod).get("namespace"), _meta(pod).get("name")), count))
    return out


def cluster_checks(snapshot, gpu_nodes, device_plugin):
    """Per GPU node: registered, Ready, schedulable (an unfinished driver upgrade named), advertises its
    GPUs; fleet-wide: the RuntimeClass and the plugin DaemonSet. Returns (checks, node summaries)."""
    checks, summaries = [], []
    nodes = {n["metadata"]["name"]: n for n in snapshot["nodes"]}
    ds_name = "%s/%s" % (device_plugin["namespace"], device_plugin["daemonset"])
    resource = gpu_capacity.resource_name(device_plugin["replicas"], device_plugin["rename_by_default"])
    settings = {
        "resource": resource, "replicas": device_plugin["replicas"], "mig_strategy": device_plugin["mig_strategy"],
        "node_labels": {k: str(v) for k, v in (device_plugin.get("node_labels") or {}).items()},
        "runtime_class": device_plugin["runtime_class"], "daemonset": ds_name,
    }
    targets = [t for t in gpu_nodes if t.get("gpus")]
    assessed = gpu_capacity.assess(targets, snapshot["nodes"], snapshot["plugin_pods"], snapshot["daemonset"],
                                   snapshot["runtime_class"], settings)
    reports = {r["name"]: r for r in assessed}
    if device_plugin["runtime_class"]:
        present = snapshot["runtime_class"] is not None
        checks.append(check("cluster.runtime_class", "pass" if present else "fail",
                            "RuntimeClass %s %s" % (device_plugin["runtime_class"], "exists" if present else "is missing"),
                            subject="RuntimeClass %s" % device_plugin["runtime_class"],
                            remedy="ansible-playbook hymt.gpu_mesh.cluster_gpu"))
    daemonset = snapshot["daemonset"]
    if daemonset is None:
        checks.append(check("cluster.device_plugin", "fail", "device-plugin DaemonSet %s does not exist" % ds_name,
                            subject="DaemonSet " + ds_name, remedy="ansible-playbook hymt.gpu_mesh.cluster_gpu"))
    else:
        status = daemonset.get("status") or {}
        desired, ready = int(status.get("desiredNumberScheduled") or 0), int(status.get("numberReady") or 0)
        checks.append(check("cluster.device_plugin", "pass" if desired and ready == desired else "fail",
                            "device-plugin pods Ready: %d of %d scheduled" % (ready, desired),
                            subject="DaemonSet " + ds_name, evidence="desiredNumberScheduled=%d numberReady=%d" % (desired, ready),
                            remedy="kubectl -n %s get pods -o wide; kubectl -n %s logs ds/%s" % (
                                device_plugin["namespace"], device_plugin["namespace"], device_plugin["daemonset"])))
    for target in gpu_nodes:
        name, host = target["name"], target.get("host")
        subject = "node " + name
        node = nodes.get(name)
        summary = {"name": name, "host": host, "ready": None, "schedulable": None, "allocatable_gpus": None,
                   "capacity_gpus": None, "expected_gpus": None, "validation": "not_checked", "upgrade_state": None}
        summaries.append(summary)
        if node is None:
            checks.append(check("cluster.node_registered", "fail", "inventory host %s is not a node of the cluster" % host,
                                subject=subject, node=name,
                                remedy="join the host to the cluster, or set fleet_verify_node_names[%s] to its node name" % host))
            continue
        ready_cond = _node_condition(node, "Ready") or {}
        summary["ready"] = ready_cond.get("status") == "True"
        checks.append(check("cluster.node_ready", "pass" if summary["ready"] else "fail",
                            "node is %sReady" % ("" if summary["ready"] else "not "), subject=subject, node=name,
                            evidence="%s: %s" % (ready_cond.get("reason") or "no Ready condition", ready_cond.get("message") or ""),
                            remedy="kubectl describe node %s; journalctl -u kubelet on %s" % (name, host or name)))
        state = driver_upgrade.upgrade_state(node)
        summary["upgrade_state"] = state or None
        summary["schedulable"] = not (node.get("spec") or {}).get("unschedulable")
        if summary["schedulable"]:
            checks.append(check("cluster.node_schedulable", "pass", "node is schedulable", subject=subject, node=name))
        elif state:
            checks.append(check("cluster.node_schedulable", "fail",
                                "cordoned by an unfinished driver upgrade (%s=%s)" % (driver_upgrade.STATE_LABEL, state),
                                subject=subject, node=name, evidence="spec.unschedulable=true",
                                remedy="ansible-playbook hymt.gpu_mesh.driver_upgrade --limit %s (resumes it)" % (host or name)))
        else:
            checks.append(check("cluster.node_schedulable", "warn", "cordoned, not by this collection", subject=subject,
                                node=name, evidence="spec.unschedulable=true",
                                remedy="kubectl uncordon %s once its maintenance is over" % name))
        capacity = (node.get("status") or {}).get("capacity") or {}
        summary["capacity_gpus"] = gpu_capacity._int_quantity(capacity.get(resource))  # pylint: disable=protected-access
        report = reports.get(name)
        if report is None:
            checks.append(check("cluster.gpu_advertised", "not_checked",
                                "not checked, because the host's facts report no GPU count (host checks did not run "
                                "or found no GPU)", subject=subject, node=name))
            continue
        summary["allocatable_gpus"], summary["expected_gpus"] = report["allocatable"], report["expected"]
        checks.append(check("cluster.gpu_advertised", "pass" if report["ok"] else "fail",
                            "advertises %s %s, %s %d from the host's facts" % (
                                report["allocatable"], resource, "expected" if report["exact"] else "expected at least",
                                report["expected"]) if report["ok"] else "; ".join(report["reasons"]),
                            subject=subject, node=name,
                            evidence="allocatable %s=%s; host facts: %d GPUs; plugin pod %s" % (
                                resource, report["allocatable"], target["gpus"], report["pod"] or "none"),
                            remedy="kubectl describe node %s; kubectl -n %s logs %s; nvidia-smi on %s" % (
                                name, device_plugin["namespace"], report["pod"] or "ds/" + device_plugin["daemonset"],
                                host or name)))
    return checks, summaries


# GPU validation Jobs ---------------------------------------------------------------------------

def plan_validation(snapshot, summaries, device_plugin):
    """Split GPU nodes into those a validation Job can run on now and (node, reason) for the others."""
    resource = gpu_capacity.resource_name(device_plugin["replicas"], device_plugin["rename_by_default"])
    runnable, skipped = [], []
    for summary in summaries:
        name = summary["name"]
        if summary["ready"] is None:
            skipped.append((name, "the host is not a node of the cluster"))
        elif not summary["ready"]:
            skipped.append((name, "the node is not Ready"))
        elif not summary["schedulable"]:
            skipped.append((name, "the node is cordoned"))
        elif not summary["allocatable_gpus"]:
            skipped.append((name, "the node advertises no %s" % resource))
        else:
            users = gpu_users(snapshot["pods"], name, resource)
            used = sum(count for pod, count in users)
            if used >= summary["allocatable_gpus"]:
                skipped.append((name, "all %d of its GPUs are allocated (to %s)" % (
                    summary["allocatable_gpus"], ", ".join(pod for pod, count in users))))
            else:
                runnable.append(name)
    return runnable, skipped


def validation_job_name(node, run_id):
    digest = hashlib.sha256(("%s/%s" % (run_id, node)).encode()).hexdigest()[:10]
    return "hymt-gpu-validation-%s" % digest


def validation_job(node, run_id, validation, resource):
    """A Job that runs the validation image on ``node`` with one GPU of ``resource`` and the NVIDIA runtime."""
    labels = {VALIDATION_LABEL: VALIDATION_LABEL_VALUE, "app.kubernetes.io/managed-by": "hymt.gpu_mesh",
              "gpu-mesh.hymt.io/verify-run": run_id}
    spec = {
        "restartPolicy": "Never",
        "runtimeClassName": validation["runtime_class"] or None,
        "nodeSelector": {"kubernetes.io/hostname": node},
        # GPU nodes are commonly tainted for GPU workloads only; this pod is one.
        "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
        "automountServiceAccountToken": False,
        "imagePullSecrets": [{"name": s} for s in validation.get("image_pull_secrets") or []],
        "securityContext": {"runAsNonRoot": True, "runAsUser": validation["run_as_user"],
                            "runAsGroup": validation["run_as_user"], "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "validate",
            "image": validation["image"],
            "imagePullPolicy": validation.get("image_pull_policy") or "IfNotPresent",
            "command": list(validation["command"]),
            "env": [{"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"}],
            "resources": {"limits": {resource: 1}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }],
    }
    if not spec["runtimeClassName"]:
        del spec["runtimeClassName"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": validation_job_name(node, run_id), "namespace": validation["namespace"], "labels": labels},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": validation["timeout"], "ttlSecondsAfterFinished": 600,
                 "template": {"metadata": {"labels": labels, "annotations": {INJECT_ANNOTATION: "disabled"}}, "spec": spec}},
    }


def job_outcome(job, pods):
    """(status, evidence) of a validation Job: pass when Complete, fail when Failed, None while running."""
    conditions = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions or "SuccessCriteriaMet" in conditions:
        return "pass", "Job %s Complete" % job["metadata"]["name"]
    if "Failed" in conditions or "FailureTarget" in conditions:
        cond = conditions.get("Failed") or conditions.get("FailureTarget")
        detail = "%s: %s" % (cond.get("reason"), cond.get("message") or "")
        for pod in pods:
            for st in (pod.get("status") or {}).get("containerStatuses") or []:
                term = (st.get("state") or {}).get("terminated") or {}
                if term:
                    detail += "; container exited %s (%s)" % (term.get("exitCode"), term.get("reason"))
        return "fail", detail
    return None, "pending: " + "; ".join(_pod_waiting(p) for p in pods) if pods else None


def _pod_waiting(pod):
    status = pod.get("status") or {}
    for st in status.get("containerStatuses") or []:
        waiting = (st.get("state") or {}).get("waiting") or {}
        if waiting:
            return "%s %s %s" % (_meta(pod).get("name"), waiting.get("reason"), waiting.get("message") or "")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return "%s unschedulable: %s" % (_meta(pod).get("name"), cond.get("message"))
    return "%s %s" % (_meta(pod).get("name"), status.get("phase"))


def validation_checks(results, skipped, validation):
    """Checks from {node: (status, evidence)} of the Jobs that ran and [(node, reason)] of those that did not."""
    out = []
    for node, (status, evidence) in sorted(results.items()):
        if status is None:
            status, summary = "fail", "the validation Job did not finish within %d s" % validation["timeout"]
        else:
            summary = ("nvidia-smi and the CUDA check ran on one GPU" if status == "pass"
                       else "the validation Job failed on one GPU")
        out.append(check("cluster.gpu_validation", status, summary, subject="node " + node, node=node, evidence=evidence,
                         remedy="kubectl -n %s logs -l %s=%s --tail 50; nvidia-smi -q on the host" % (
                             validation["namespace"], VALIDATION_LABEL, VALIDATION_LABEL_VALUE)))
    for node, reason in skipped:
        out.append(check("cluster.gpu_validation", "not_checked", "not checked, because " + reason,
                         subject="node " + node, node=node))
    return out


# Mesh ----------------------------------------------------------------------------------------

_MESH_REMEDY = "linkerd check; ansible-playbook hymt.gpu_mesh.mesh"


def mesh_checks(snapshot, linkerd):
    """linkerd_health's verdicts as checks, and the facts the report shows (versions, expiry)."""
    results, facts = linkerd_health.evaluate(snapshot["linkerd"], warn_days=linkerd["warn_days"])
    status_of = {linkerd_health.OK: "pass", linkerd_health.WARNING: "warn", linkerd_health.ERROR: "fail"}
    checks = []
    for item in results:
        details = {k: v for k, v in item.items() if k not in ("name", "status", "hint")}
        checks.append(check("mesh." + _slug(item["name"]), status_of[item["status"]],
                            item["hint"] or item["name"] + ": ok", subject=item["name"],
                            evidence=json.dumps(details, sort_keys=True) if details else "",
                            remedy=(item["hint"] + "; " if item["hint"] else "") + _MESH_REMEDY))
    summary = {"control_plane_version": facts.get("control_plane_version"),
               "trust_anchors": [{k: a.get(k) for k in ("subject", "not_after", "days_left")} for a in facts["trust_anchors"]],
               "issuer": {k: facts["issuer"].get(k) for k in ("subject", "not_after", "days_left")} if facts.get("issuer") else {}}
    return checks, summary


# Service -------------------------------------------------------------------------------------

def _selector_matches(selector, labels):
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def _targets(policy, kind, name):
    ref = (policy.get("spec") or {}).get("targetRef") or {}
    return ref.get("kind") == kind and ref.get("name") == name


def service_checks(snapshot, service, cp_version=None):
    """The Deployment serves, the Service has ready endpoints, every pod carries an injected proxy and its
    identity, and the Server with an AuthorizationPolicy on each of its routes exists."""
    ns, name = service["namespace"], service["deployment"]
    subject = "Deployment %s/%s" % (ns, name)
    checks = []
    summary = {"namespace": ns, "deployment": name, "replicas": None, "ready_replicas": None, "pods": []}
    deployment = snapshot["deployment"]
    if deployment is None:
        checks.append(check("service.deployment", "fail", "the Deployment does not exist", subject=subject,
                            remedy="ansible-playbook hymt.gpu_mesh.translation"))
        checks.append(_endpoint_check(snapshot, service))
        checks.append(check("service.policy", "not_checked", "not checked, because the Deployment does not exist "
                            "(the Server must select its pods' labels)", subject="namespace " + ns))
        return checks, summary
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted, ready = int(spec.get("replicas") or 0), int(status.get("readyReplicas") or 0)
    summary["replicas"], summary["ready_replicas"] = wanted, ready
    if wanted == 0:
        checks.append(check("service.deployment", "fail", "scaled to 0 replicas: no pod serves translations",
                            subject=subject, evidence="spec.replicas=0",
                            remedy="ansible-playbook hymt.gpu_mesh.translation (restores translation_service_replicas), "
                                   "or kubectl -n %s scale deployment/%s --replicas=N" % (ns, name)))
    elif ready < wanted:
        checks.append(check("service.deployment", "fail", "%d of %d replicas Ready" % (ready, wanted), subject=subject,
                            evidence="readyReplicas=%d" % ready,
                            remedy="kubectl -n %s describe pods -l %s" % (ns, ",".join(
                                "%s=%s" % kv for kv in sorted(((spec.get("selector") or {}).get("matchLabels") or {}).items())))))
    else:
        checks.append(check("service.deployment", "pass", "%d of %d replicas Ready" % (ready, wanted), subject=subject))
    template = spec.get("template") or {}
    templated = [c.get("name") for c in (template.get("spec") or {}).get("containers") or []
                 if c.get("name") == linkerd_health.PROXY]
    pods = [p for p in snapshot["pods"] if _meta(p).get("namespace") == ns
            and _selector_matches(spec.get("selector"), _labels(p))]
    problems = []
    for pod in sorted(pods, key=lambda p: _meta(p).get("name")):
        pod_name = _meta(pod).get("name")
        containers = ((pod.get("spec") or {}).get("containers") or []) + ((pod.get("spec") or {}).get("initContainers") or [])
        proxy = any(c.get("name") == linkerd_health.PROXY for c in containers)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])
        identity = _annotations(pod).get(IDENTITY_ANNOTATION)
        version = _annotations(pod).get(linkerd_health.PROXY_VERSION_ANNOTATION)
        summary["pods"].append({"name": pod_name, "node": (pod.get("spec") or {}).get("nodeName"), "proxy": proxy,
                                "ready": ready, "identity": identity, "proxy_version": version})
        if not proxy:
            problems.append("%s has no %s" % (pod_name, linkerd_health.PROXY))
        elif identity != "default":
            problems.append("%s: proxy without mesh identity (%s=%s)" % (pod_name, IDENTITY_ANNOTATION, identity))
        elif cp_version and version != cp_version:
            problems.append("%s: proxy %s, control plane %s" % (pod_name, version, cp_version))
    if templated:
        checks.append(check("service.proxy_injected", "fail",
                            "the Deployment's pod template carries %s itself: it was templated (linkerd inject output applied), "
                            "not injected by the proxy injector, so it follows no control-plane upgrade" % linkerd_health.PROXY,
                            subject=subject, remedy="remove the container from the manifest and let namespace injection add it"))
    elif not pods:
        checks.append(check("service.proxy_injected", "not_checked", "not checked, because no pod of the Deployment exists",
                            subject=subject))
    elif problems:
        checks.append(check("service.proxy_injected", "fail", "; ".join(problems), subject=subject,
                            evidence="namespace %s=%s" % (INJECT_ANNOTATION, "see kubectl get ns %s -o yaml" % ns),
                            remedy="kubectl -n %s rollout restart deployment/%s (the injector adds the proxy to new pods); "
                                   "linkerd check --proxy -n %s" % (ns, name, ns)))
    else:
        checks.append(check("service.proxy_injected", "pass",
                            "%d pods carry an injected %s with mesh identity%s" % (
                                len(pods), linkerd_health.PROXY, " at the control plane's version " + cp_version if cp_version else ""),
                            subject=subject))
    checks.append(_endpoint_check(snapshot, service))
    checks.extend(_policy_checks(snapshot, service, template))
    return checks, summary


def _endpoint_check(snapshot, service):
    ns, svc_name = service["namespace"], service["service"]
    subject = "Service %s/%s" % (ns, svc_name)
    if snapshot["service"] is None:
        return check("service.endpoints", "fail", "the Service does not exist", subject=subject,
                     remedy="ansible-playbook hymt.gpu_mesh.translation")
    ready = sum(1 for s in snapshot["endpoint_slices"] for e in s.get("endpoints") or []
                if (e.get("conditions") or {}).get("ready"))
    return check("service.endpoints", "pass" if ready else "fail", "%d ready endpoints" % ready, subject=subject,
                 remedy="kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s" % (ns, svc_name))


def _policy_checks(snapshot, service, template):
    ns = service["namespace"]
    if snapshot["servers"] is None:
        return [check("service.policy", "fail", "Linkerd's policy CRDs are not installed", subject="namespace " + ns,
                      remedy="ansible-playbook hymt.gpu_mesh.mesh")]
    pod_labels = _labels(template)
    servers = [s for s in snapshot["servers"] if _selector_matches((s.get("spec") or {}).get("podSelector"), pod_labels)]
    if not servers:
        return [check("service.policy", "fail", "no Linkerd Server selects the translation pods, so no policy of the "
                      "collection applies to them", subject="namespace " + ns,
                      remedy="ansible-playbook hymt.gpu_mesh.translation")]
    out = []
    authorizations = snapshot["authorizations"] or []
    for server in servers:
        server_name = server["metadata"]["name"]
        routes = [r for r in snapshot["routes"] or [] if any(
            ref.get("kind") == "Server" and ref.get("name") == server_name for ref in (r.get("spec") or {}).get("parentRefs") or [])]
        server_wide = [a["metadata"]["name"] for a in authorizations if _targets(a, "Server", server_name)]
        unauthorized = [r["metadata"]["name"] for r in routes
                        if not any(_targets(a, "HTTPRoute", r["metadata"]["name"]) for a in authorizations)]
        subject = "Server %s/%s" % (ns, server_name)
        if routes and unauthorized:
            out.append(check("service.policy", "fail",
                             "HTTPRoute %s has no AuthorizationPolicy: Linkerd refuses every request on it" % ", ".join(unauthorized),
                             subject=subject, evidence="AuthorizationPolicies: %s" % (
                                 ", ".join(sorted(a["metadata"]["name"] for a in authorizations)) or "none"),
                             remedy="ansible-playbook hymt.gpu_mesh.translation (reapplies the policy); "
                                    "kubectl -n %s get authorizationpolicies,httproutes" % ns))
        elif not routes and not server_wide:
            out.append(check("service.policy", "fail", "the Server has no AuthorizationPolicy: Linkerd refuses every request",
                             subject=subject, remedy="ansible-playbook hymt.gpu_mesh.translation"))
        else:
            out.append(check("service.policy", "pass", "%d routes, each with an AuthorizationPolicy" % len(routes),
                             subject=subject))
    return out


# All -----------------------------------------------------------------------------------------

def evaluate(snapshot, params):
    """(checks, nodes, mesh, service summaries) of the scopes in params["scopes"]."""
    scopes = params["scopes"]
    checks, nodes, mesh, service = [], [], {}, {}
    if "cluster" in scopes:
        found, nodes = cluster_checks(snapshot, params["gpu_nodes"], params["device_plugin"])
        checks += found
    if "mesh" in scopes and "linkerd" in snapshot:
        found, mesh = mesh_checks(snapshot, params["linkerd"])
        checks += found
    if "service" in scopes:
        found, service = service_checks(snapshot, params["service"], mesh.get("control_plane_version"))
        checks += found
    return checks, nodes, mesh, service


# Metrics scraped -------------------------------------------------------------------------------

def scrape_check(answer, error, pods, service, where):
    """Whether Prometheus has an up == 1 series for every Ready translation pod.

    ``answer`` is the JSON of Prometheus' /api/v1/query for ``up{namespace=...}`` or None with ``error``.
    """
    subject = "Deployment %s/%s" % (service["namespace"], service["deployment"])
    if answer is None:
        return check("service.metrics_scraped", "fail", "Prometheus could not be asked: %s" % error, subject=subject,
                     evidence=where, remedy="check the Prometheus the mesh phase configured (linkerd-viz or "
                                            "linkerd_viz_prometheus_url) is running and reachable")
    series = ((answer.get("data") or {}).get("result")) or []
    up = {(s.get("metric") or {}).get("pod") for s in series if (s.get("value") or [None, "0"])[1] == "1"}
    wanted = sorted(p["name"] for p in pods if p["ready"])
    missing = [p for p in wanted if p not in up]
    if not wanted:
        return check("service.metrics_scraped", "not_checked", "not checked, because no translation pod is Ready",
                     subject=subject)
    if missing:
        return check("service.metrics_scraped", "fail", "Prometheus does not scrape %d of %d Ready pods: %s" % (
            len(missing), len(wanted), ", ".join(missing)), subject=subject, evidence="%s; up==1 for: %s" % (
                where, ", ".join(sorted(p for p in up if p)) or "none"),
            remedy="check the pods' prometheus.io/* annotations and the scrape job of linkerd_viz_prometheus_scrape_configs; "
                   "the AuthorizationPolicy of the metrics route must admit Prometheus' identity")
    return check("service.metrics_scraped", "pass", "Prometheus scrapes all %d Ready pods" % len(wanted), subject=subject,
                 evidence=where)


def scrape_query(service):
    return 'up{namespace="%s"}' % service["namespace"]


# Unmeshed caller -------------------------------------------------------------------------------

UNMESHED_KEY = "unmeshed-caller"


def service_url(service_obj, service):
    """http://<service>.<namespace>.svc:<first port>, or None when the Service is absent or has no port."""
    ports = ((service_obj or {}).get("spec") or {}).get("ports") or []
    if not ports:
        return None
    return "http://%s.%s.svc:%s" % (service["service"], service["namespace"], ports[0]["port"])


def unmeshed_job(url, run_id, service, client):
    """A Job without a proxy that calls the Service and succeeds only when the mesh refuses it (403 or no answer)."""
    labels = {"gpu-mesh.hymt.io/verify": UNMESHED_KEY, "app.kubernetes.io/managed-by": "hymt.gpu_mesh",
              "gpu-mesh.hymt.io/verify-run": run_id}
    script = ('code=$(curl -s -o /dev/null -w "%%{http_code}" --max-time 10 %s/v1/models); echo "HTTP $code"; '
              '[ "$code" = 403 ] || [ "$code" = 000 ]' % url)
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "hymt-unmeshed-caller-" + run_id[:10], "namespace": service["namespace"], "labels": labels},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": client["timeout"], "ttlSecondsAfterFinished": 600,
                 "template": {
                     "metadata": {"labels": labels, "annotations": {INJECT_ANNOTATION: "disabled"}},
                     "spec": {
                         "restartPolicy": "Never", "automountServiceAccountToken": False,
                         "imagePullSecrets": [{"name": s} for s in client.get("image_pull_secrets") or []],
                         "securityContext": {"runAsNonRoot": True, "runAsUser": client["run_as_user"],
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{
                             "name": "call", "image": client["image"], "command": ["sh", "-c", script],
                             "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                             "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                 "capabilities": {"drop": ["ALL"]}},
                         }],
                     }}},
    }


def unmeshed_check(outcome, url, service):
    """The check from the unmeshed caller Job's (status, evidence); status None = it did not finish."""
    subject = "Service %s/%s" % (service["namespace"], service["service"])
    status, evidence = outcome
    if status == "pass":
        return check("service.unmeshed_refused", "pass", "a caller without a proxy was refused", subject=subject,
                     evidence="%s: %s" % (url, evidence))
    summary = ("a caller without a proxy got an answer from %s: the mesh admits unauthenticated traffic" % url
               if status == "fail" else "the unmeshed caller Job did not finish")
    return check("service.unmeshed_refused", "fail", summary, subject=subject, evidence=evidence or "",
                 remedy="kubectl get ns %s -o jsonpath='{.metadata.annotations}' (config.linkerd.io/default-inbound-policy "
                        "must be all-authenticated); kubectl -n %s get servers,authorizationpolicies" % (
                            service["namespace"], service["namespace"]))


# Meshed smoke translations ---------------------------------------------------------------------

SMOKE_MARKER = "HYMT_SMOKE_RESULT"


def smoke_job(deployment, url, run_id, smoke):
    """A meshed Job that runs the translation_service role's smoke script (its ConfigMap and ServiceAccount,
    which the service's AuthorizationPolicy admits) for every language pair, in the server's image and on
    the nodes the Deployment's pods run on, with their pull secrets and security context."""
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    server = (template.get("containers") or [{}])[0]
    labels = {"gpu-mesh.hymt.io/verify": "smoke", "app.kubernetes.io/managed-by": "hymt.gpu_mesh",
              "gpu-mesh.hymt.io/verify-run": run_id}
    env = [{"name": "HYMT_SMOKE_URL", "value": url},
           {"name": "HYMT_SMOKE_PAIRS", "value": json.dumps(smoke["pairs"], ensure_ascii=False)},
           {"name": "HYMT_SMOKE_REQUESTS", "value": str(smoke["requests"])},
           {"name": "HYMT_SMOKE_MODEL", "value": smoke.get("model") or ""},
           {"name": "HYMT_SMOKE_SERVER_API", "value": smoke["server_api"]},
           {"name": "HYMT_SMOKE_MAX_TOKENS", "value": "64"},
           {"name": "HYMT_SMOKE_WAIT_SECONDS", "value": str(max(smoke["timeout"] - 30, 10))},
           {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    if smoke.get("api_key_secret"):
        env.append({"name": "HYMT_API_KEY", "valueFrom": {"secretKeyRef": {"name": smoke["api_key_secret"], "key": "api-key"}}})
    pod = {
        "serviceAccountName": smoke["service_account"], "automountServiceAccountToken": False, "restartPolicy": "Never",
        "nodeSelector": template.get("nodeSelector") or {}, "tolerations": template.get("tolerations") or [],
        "imagePullSecrets": template.get("imagePullSecrets") or [],
        "securityContext": template.get("securityContext") or {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "translate", "image": smoke.get("image") or server.get("image"),
            "imagePullPolicy": server.get("imagePullPolicy") or "IfNotPresent",
            "command": ["python3", "/smoke/smoke_translate.py"], "env": env,
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "script", "mountPath": "/smoke", "readOnly": True}],
        }],
        "volumes": [{"name": "script", "configMap": {"name": smoke["config_map"]}}],
    }
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "hymt-verify-smoke-" + run_id[:10], "namespace": deployment["metadata"].get("namespace"),
                     "labels": labels},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": smoke["timeout"], "ttlSecondsAfterFinished": 600,
                 "template": {"metadata": {"labels": labels, "annotations": {
                     INJECT_ANNOTATION: "enabled",
                     # The proxy runs as a native sidecar so that it stops when the script is done.
                     "config.linkerd.io/proxy-enable-native-sidecar": "true"}}, "spec": pod}},
    }


def smoke_results(log_text, pairs, outcome):
    """The translate module's loop-result shape (one per pair) from the smoke Job's log line, for fleet_smoke.

    With no result line in the log every pair fails with the Job's outcome as the reason: nothing is
    reported that was not received.
    """
    line = next((ln for ln in (log_text or "").splitlines() if ln.startswith(SMOKE_MARKER + " ")), None)
    parsed = None
    if line is not None:
        try:
            parsed = json.loads(line[len(SMOKE_MARKER) + 1:])
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("pairs"), list):
        reason = "the smoke Job logged no %s line (%s)" % (SMOKE_MARKER, outcome or "no outcome")
        return [{"item": pair, "failed": True, "msg": reason, "translations": []} for pair in pairs]
    out = []
    for pair, got in zip(pairs, parsed["pairs"] + [None] * (len(pairs) - len(parsed["pairs"]))):
        got = got or {"translations": [], "error": "the Job stopped before this pair"}
        out.append({"item": pair, "failed": bool(got.get("error")), "msg": got.get("error") or "",
                    "translations": got.get("translations") or []})
    return out
