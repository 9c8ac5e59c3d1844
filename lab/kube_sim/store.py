"""The object store and the API semantics of every write: defaults, validation, resourceVersion,
generation, managedFields, dry runs, deletion with garbage collection, CRDs becoming served types."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import secrets
import uuid

import yaml

from .defaults import Defaulter
from .errors import ApiError, already_exists, conflict, not_found
from .patching import ManagedFields, json_patch, merge_patch, strategic_merge
from .resources import Registry, ResourceType
from .selectors import match_fields, match_requirements, parse_field_selector, parse_label_selector
from .validation import Validator

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Status fields the API schema requires, as the API server fills them on create.
INITIAL_STATUS = {
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    "ReplicaSet": {"replicas": 0},
    "HorizontalPodAutoscaler": {"desiredReplicas": 0},
    "PodDisruptionBudget": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
}
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_of(obj: dict | None) -> dict:
    return {k: v for k, v in (obj or {}).items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _comparable(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    out.get("metadata", {}).pop("resourceVersion", None)
    for entry in out.get("metadata", {}).get("managedFields") or []:
        entry.pop("time", None)
    return out


class Store:
    def __init__(self, k8s_version: str):
        self.registry = Registry()
        self.validator = Validator(k8s_version)
        self.defaulter = Defaulter()
        self.objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self.rv = 1000
        self.watchers: list = []  # (rtype key, namespace or None, asyncio.Queue)
        for name in SYSTEM_NAMESPACES:
            self.create(self.type("", "v1", "namespaces"), None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- lookups ----------------------------------------------------------------------------------

    def type(self, group: str, version: str, plural: str) -> ResourceType:
        rtype = self.registry.lookup(group, version, plural)
        if rtype is None:
            raise ApiError(404, "the server could not find the requested resource")
        return rtype

    def bucket(self, rtype: ResourceType) -> dict:
        return self.objects.setdefault(rtype.key, {})

    def _out(self, rtype: ResourceType, obj: dict) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"] = rtype.api_version
        out["kind"] = rtype.kind
        return out

    def raw(self, rtype: ResourceType, namespace: str | None, name: str) -> dict | None:
        return self.bucket(rtype).get((namespace or "", name))

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict:
        obj = self.raw(rtype, namespace, name)
        if obj is None:
            raise not_found(rtype, name)
        return self._out(rtype, obj)

    def list(self, rtype: ResourceType, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> dict:
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        items = []
        for (ns, _name), obj in sorted(self.bucket(rtype).items()):
            if namespace and ns != namespace:
                continue
            if match_requirements(labels, obj["metadata"].get("labels")) and match_fields(fields, obj):
                item = self._out(rtype, obj)
                if rtype.crd_schema is None:  # built-in list items carry no apiVersion/kind, as served by Kubernetes
                    item.pop("apiVersion")
                    item.pop("kind")
                items.append(item)
        return {"apiVersion": rtype.api_version, "kind": f"{rtype.kind}List",
                "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def all_of(self, group: str, plural: str) -> list[dict]:
        """Stored objects of a collection, for the controllers (no copies: do not mutate)."""
        return list(self.objects.get((group, plural), {}).values())

    # --- writes -----------------------------------------------------------------------------------

    def _check_namespace(self, rtype: ResourceType, namespace: str | None, body: dict) -> str | None:
        meta = body.setdefault("metadata", {})
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return None
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        namespace = namespace or meta.get("namespace")
        if not namespace:
            raise ApiError(400, "an empty namespace may not be set when a resource name is provided")
        meta["namespace"] = namespace
        if ("", namespace) not in self.objects.get(("", "namespaces"), {}):
            raise ApiError(404, f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"})
        return namespace

    def create(self, rtype: ResourceType, namespace: str | None, body: dict, manager: str = "kube-sim",
               dry_run: bool = False) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        body = copy.deepcopy(body)
        body.setdefault("apiVersion", rtype.api_version)
        body.setdefault("kind", rtype.kind)
        namespace = self._check_namespace(rtype, namespace, body)
        meta = body["metadata"]
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise ApiError(422, f'{rtype.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                               reason="Invalid")
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        if self.raw(rtype, namespace, meta["name"]) is not None:
            raise already_exists(rtype, meta["name"])
        for key in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "generation", "managedFields"):
            meta.pop(key, None)
        if "status" in rtype.subresources:
            body.pop("status", None)
        return self._commit(rtype, namespace, None, body, manager, dry_run)

    def update(self, rtype: ResourceType, namespace: str | None, name: str, body: dict, manager: str,
               dry_run: bool = False, subresource: str = "") -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        body = copy.deepcopy(body)
        namespace = self._check_namespace(rtype, namespace, body)
        if body["metadata"].get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        old = self.raw(rtype, namespace, name)
        if old is None:
            raise not_found(rtype, name)
        wanted_rv = body["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rtype, name, "the object has been modified; please apply your changes to the latest version and try again")
        return self._commit(rtype, namespace, old, body, manager, dry_run, subresource=subresource)

    def patch(self, rtype: ResourceType, namespace: str | None, name: str, raw_body: bytes, content_type: str,
              manager: str | None, force: bool = False, dry_run: bool = False, subresource: str = "") -> dict:
        kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if kind is None:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted media types include: "
                                f"{', '.join(PATCH_TYPES)}")
        if kind == "strategic" and rtype.crd_schema is not None:
            raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        try:
            patch = yaml.safe_load(raw_body) if kind == "apply" else json.loads(raw_body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"the request body could not be decoded: {exc}") from exc
        if namespace and rtype.namespaced is False:
            namespace = None
        old = self.raw(rtype, namespace, name)
        if kind == "apply":
            if not manager:
                raise ApiError(400, "PATCH, application/apply-patch+yaml requests require fieldManager to be set")
            return self._apply(rtype, namespace, name, old, patch, manager, force, dry_run)
        if old is None:
            raise not_found(rtype, name)
        current = self._out(rtype, old)
        nav = self.validator.nav(rtype)
        if kind == "json":
            new = json_patch(current, patch)
        elif kind == "merge":
            new = merge_patch(current, patch)
        else:
            new = strategic_merge(current, patch, nav, nav.root)
        if not isinstance(new, dict):
            raise ApiError(422, "the patch did not produce an object")
        wanted_rv = ((patch if isinstance(patch, dict) else {}).get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rtype, name, "the object has been modified; please apply your changes to the latest version and try again")
        new.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self._commit(rtype, namespace, old, new, manager or "kube-sim", dry_run, subresource=subresource)

    def _apply(self, rtype, namespace, name, old, applied, manager, force, dry_run) -> dict:
        if not isinstance(applied, dict):
            raise ApiError(400, "an applied configuration must be an object")
        applied.setdefault("metadata", {})
        if applied["metadata"].get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        applied["metadata"]["name"] = name
        if rtype.namespaced:
            applied["metadata"]["namespace"] = self._check_namespace(rtype, namespace, copy.deepcopy(applied))
        if applied.get("apiVersion") != rtype.api_version or applied.get("kind") != rtype.kind:
            raise ApiError(400, f"apiVersion and kind of the applied configuration must be {rtype.api_version} {rtype.kind}")
        nav = self.validator.nav(rtype)
        managed = ManagedFields(old)
        live = self._out(rtype, old) if old else None
        merged = managed.apply(live, applied, nav, manager, force, rtype.api_version, now())
        if old is None:
            if "status" in rtype.subresources:
                merged.pop("status", None)
            return self._commit(rtype, namespace, None, merged, manager, dry_run, managed=managed)
        merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self._commit(rtype, namespace, old, merged, manager, dry_run, managed=managed)

    def _commit(self, rtype: ResourceType, namespace: str | None, old: dict | None, new: dict, manager: str,
                dry_run: bool, subresource: str = "", managed: ManagedFields | None = None) -> dict:
        meta = new.setdefault("metadata", {})
        stamp = now()
        if old is not None:
            for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name"):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
            if subresource == "status":
                status = new.get("status")
                new = self._out(rtype, old)
                meta = new["metadata"]
                if status is None:
                    new.pop("status", None)
                else:
                    new["status"] = status
            elif "status" in rtype.subresources:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
            if rtype.kind == "Service":
                for key in ("clusterIP", "clusterIPs"):
                    if key in old.get("spec", {}) and isinstance(new.get("spec"), dict):
                        new["spec"].setdefault(key, old["spec"][key])
        if old is None and "status" in rtype.subresources and rtype.crd_schema is None:
            # Built-in kinds answer a create with an empty status (a DaemonSet's counters are not optional).
            new.setdefault("status", copy.deepcopy(INITIAL_STATUS.get(rtype.kind, {})))
        if rtype.crd_schema is None:
            self.defaulter(rtype.kind, new)
        else:
            self.validator.default(rtype, new)
        if rtype.kind == "Secret" and "stringData" in new:
            data = new.setdefault("data", {})
            for key, value in new.pop("stringData").items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        self.validator.validate(rtype, new, old)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = stamp
            if "status" in rtype.subresources or rtype.crd_schema is not None:
                meta["generation"] = 1
        elif _spec_of(old) != _spec_of(new) and "generation" in meta:
            meta["generation"] += 1
        if managed is None:
            managed = ManagedFields(old)
            managed.record_update(self._out(rtype, old) if old else None, new, self.validator.nav(rtype), manager,
                                  rtype.api_version, stamp, subresource)
        managed.store(new, stamp)
        if old is not None and _comparable(self._out(rtype, old)) == _comparable(self._out(rtype, new)):
            return self._out(rtype, old)  # a no-op write changes nothing, not even resourceVersion
        if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            if not dry_run:
                self._remove(rtype, namespace, meta["name"], "Background")
            return self._out(rtype, new)
        if dry_run:
            return self._out(rtype, new)
        if rtype.kind == "CustomResourceDefinition":
            self._serve_crd(new)
        return self.save(rtype, new, "MODIFIED" if old else "ADDED")

    def save(self, rtype: ResourceType, obj: dict, event: str = "MODIFIED") -> dict:
        """Store an object as is with a new resourceVersion (controllers write status through this)."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        self.bucket(rtype)[(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
        self._publish(rtype, event, obj)
        return self._out(rtype, obj)

    def _serve_crd(self, crd: dict) -> None:
        self.registry.set_crd(crd)
        names = crd["spec"]["names"]
        accepted = {"plural": names["plural"], "kind": names["kind"], "listKind": names.get("listKind", names["kind"] + "List"),
                    "singular": names.get("singular", names["kind"].lower())}
        if names.get("shortNames"):
            accepted["shortNames"] = names["shortNames"]
        stamp = now()
        crd["status"] = {
            "acceptedNames": accepted,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
                 "lastTransitionTime": stamp},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": stamp},
            ],
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
        }

    # --- deletion ---------------------------------------------------------------------------------

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, propagation: str | None = None,
               dry_run: bool = False, precondition_uid: str | None = None) -> dict:
        obj = self.raw(rtype, namespace if rtype.namespaced else None, name)
        if obj is None:
            raise not_found(rtype, name)
        if precondition_uid and precondition_uid != obj["metadata"]["uid"]:
            raise conflict(rtype, name, "Precondition failed: UID in precondition does not match the object")
        result = self._out(rtype, obj)
        if dry_run:
            return result
        if obj["metadata"].get("finalizers"):
            obj["metadata"].setdefault("deletionTimestamp", now())
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.save(rtype, obj)
        self._remove(rtype, namespace, name, propagation or "Background")
        if rtype.kind == "Namespace":
            result["status"] = {"phase": "Terminating"}
            result["metadata"]["deletionTimestamp"] = now()
            return result
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": rtype.group, "kind": rtype.plural, "uid": obj["metadata"]["uid"]}}

    def _remove(self, rtype: ResourceType, namespace: str | None, name: str, propagation: str) -> None:
        obj = self.bucket(rtype).pop(((namespace or "") if rtype.namespaced else "", name), None)
        if obj is None:
            return
        self.rv += 1
        self._publish(rtype, "DELETED", obj)
        uid = obj["metadata"]["uid"]
        if rtype.kind == "Namespace":
            for key, bucket in list(self.objects.items()):
                for ns, child in list(bucket):
                    if ns == name:
                        self._remove(self._type_for_key(key), ns, child, "Background")
        if rtype.kind == "CustomResourceDefinition":
            group, plural = obj["spec"]["group"], obj["spec"]["names"]["plural"]
            for ns, child in list(self.objects.get((group, plural), {})):
                self._remove(self._type_for_key((group, plural)), ns, child, "Background")
            self.registry.drop_crd(name)
            self.objects.pop((group, plural), None)
        for key, bucket in list(self.objects.items()):
            for (ns, child), dependent in list(bucket.items()):
                owners = dependent["metadata"].get("ownerReferences") or []
                if any(o.get("uid") == uid for o in owners):
                    if propagation == "Orphan":
                        dependent["metadata"]["ownerReferences"] = [o for o in owners if o.get("uid") != uid]
                    else:
                        self._remove(self._type_for_key(key), ns, child, "Background")

    def _type_for_key(self, key: tuple[str, str]) -> ResourceType:
        return next(t for t in self.registry.types if t.key == key)

    def delete_collection(self, rtype: ResourceType, namespace: str | None, label_selector: str | None,
                          field_selector: str | None, dry_run: bool = False) -> dict:
        found = self.list(rtype, namespace, label_selector, field_selector)
        for item in found["items"]:
            self.delete(rtype, item["metadata"].get("namespace"), item["metadata"]["name"], dry_run=dry_run)
        return found

    # --- watch ------------------------------------------------------------------------------------

    def _publish(self, rtype: ResourceType, event: str, obj: dict) -> None:
        for key, namespace, queue in list(self.watchers):
            if key == rtype.key and (namespace is None or obj["metadata"].get("namespace") == namespace):
                queue.put_nowait((event, self._out(rtype, obj)))
