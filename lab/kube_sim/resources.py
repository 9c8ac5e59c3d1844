"""The resource types the simulator serves (built-in and from CRDs) and the discovery documents."""

from __future__ import annotations

from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    subresources: dict[str, str] = field(default_factory=dict)  # name -> kind it takes
    crd_schema: dict | None = None  # openAPIV3Schema of a custom resource version
    crd_name: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: all versions of a group share one collection."""
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _t(group, version, kind, plural, namespaced, short=(), status=True, **subs):
    subresources = {"status": kind} if status else {}
    subresources.update(subs)
    return ResourceType(group, version, kind, plural, namespaced, list(short), subresources)


BUILTIN = [
    _t("", "v1", "Namespace", "namespaces", False, ["ns"]),
    _t("", "v1", "Node", "nodes", False, ["no"]),
    _t("", "v1", "Pod", "pods", True, ["po"], eviction="Eviction"),
    _t("", "v1", "Service", "services", True, ["svc"]),
    _t("", "v1", "ConfigMap", "configmaps", True, ["cm"], status=False),
    _t("", "v1", "Secret", "secrets", True, status=False),
    _t("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"], status=False),
    _t("", "v1", "Event", "events", True, ["ev"], status=False),
    _t("apps", "v1", "Deployment", "deployments", True, ["deploy"]),
    _t("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"]),
    _t("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"]),
    _t("batch", "v1", "Job", "jobs", True),
    _t("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False, status=False),
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ["pdb"]),
    _t("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ["hpa"]),
    _t("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, ["crd", "crds"]),
    _t("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
       False, status=False),
    _t("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
       False, status=False),
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles", True, status=False),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, status=False),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, status=False),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, status=False),
    _t("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ["pc"], status=False),
]


class Registry:
    """Looks resource types up by URL parts or by apiVersion/kind; CRDs add and remove types."""

    def __init__(self) -> None:
        self.types: list[ResourceType] = list(BUILTIN)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        for rtype in self.types:
            if (rtype.group, rtype.version, rtype.plural) == (group, version, plural):
                return rtype
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rtype in self.types:
            if rtype.api_version == api_version and rtype.kind == kind:
                return rtype
        return None

    def kind_of(self, group: str, kind: str) -> ResourceType | None:
        """Any served version of a group's kind (owner references name apiVersion + kind)."""
        for rtype in self.types:
            if rtype.group == group and rtype.kind == kind:
                return rtype
        return None

    def set_crd(self, crd: dict) -> list[ResourceType]:
        """(Re)register the served versions of a CRD; returns the new types."""
        self.drop_crd(crd["metadata"]["name"])
        spec = crd["spec"]
        names = spec["names"]
        added = []
        for version in spec.get("versions", []):
            if not version.get("served", True):
                continue
            subs = {}
            if "status" in (version.get("subresources") or {}):
                subs["status"] = names["kind"]
            schema = (version.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
            added.append(ResourceType(spec["group"], version["name"], names["kind"], names["plural"],
                                      spec.get("scope", "Namespaced") == "Namespaced",
                                      list(names.get("shortNames") or []), subs, schema, crd["metadata"]["name"]))
        self.types.extend(added)
        return added

    def drop_crd(self, crd_name: str) -> None:
        self.types = [t for t in self.types if t.crd_name != crd_name]

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, in registration order (first is preferred)."""
        found: dict[str, list[str]] = {}
        for rtype in self.types:
            if rtype.group:
                versions = found.setdefault(rtype.group, [])
                if rtype.version not in versions:
                    versions.append(rtype.version)
        return found

    def resource_list(self, group: str, version: str) -> dict | None:
        rtypes = [t for t in self.types if t.group == group and t.version == version]
        if not rtypes:
            return None
        resources = []
        for rtype in rtypes:
            entry = {
                "name": rtype.plural, "singularName": rtype.singular, "namespaced": rtype.namespaced,
                "kind": rtype.kind, "verbs": VERBS,
            }
            if rtype.short_names:
                entry["shortNames"] = rtype.short_names
            resources.append(entry)
            for sub, kind in rtype.subresources.items():
                sub_entry = {"name": f"{rtype.plural}/{sub}", "singularName": "", "namespaced": rtype.namespaced,
                             "kind": kind, "verbs": ["get", "patch", "update"]}
                if sub == "eviction":
                    sub_entry.update(group="policy", version="v1", verbs=["create"])
                resources.append(sub_entry)
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    def group_list(self) -> dict:
        groups = []
        for name, versions in self.groups().items():
            entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
            groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def group(self, name: str) -> dict | None:
        for entry in self.group_list()["groups"]:
            if entry["name"] == name:
                return {"kind": "APIGroup", "apiVersion": "v1", **entry}
        return None
