"""Validation of every write: the official strict OpenAPI schemas (bundled by kubernetes-validate) for
built-in kinds, the CRD's openAPIV3Schema for custom resources, and the semantic checks the API server
adds on top. Also answers which merge keys and list types a field has (patching needs them)."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources as importlib_resources

import jsonschema
from referencing import Registry as RefRegistry, Resource as RefResource

from .errors import ApiError, invalid
from .resources import ResourceType

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"Namespace", "Service"}
WORKLOADS = {"Deployment", "ReplicaSet", "DaemonSet"}
NATIVE_RESOURCE_PREFIXES = ("kubernetes.io/", "requests.")
NATIVE_RESOURCES = {"cpu", "memory", "ephemeral-storage", "storage"}


def _schema_dir(k8s_version: str) -> str:
    """The bundled strict schema directory for the newest version not newer than the one asked for."""
    root = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    wanted = tuple(int(x) for x in k8s_version.lstrip("v").split(".")[:2])
    bundled = []
    for entry in root.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if match:
            bundled.append(((int(match.group(1)), int(match.group(2))), entry))
    usable = [item for item in bundled if item[0] <= wanted]
    if not usable or wanted > max(bundled, key=lambda item: item[0])[0]:
        raise SystemExit(f"kube_sim: kubernetes-validate bundles no schemas for Kubernetes {k8s_version}; pick a version it bundles")
    newest = max(usable, key=lambda item: item[0])
    return str(newest[1])


def field_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class Nav:
    """Walks a schema alongside an object: child schemas, list items and list merge semantics."""

    def __init__(self, defs: dict, root: dict):
        self.defs = defs
        self.root = root

    def resolve(self, node: dict | None) -> dict:
        node = node or {}
        while "$ref" in node:
            node = self.defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        for combined in ("allOf", "oneOf", "anyOf"):
            if combined in node and "properties" not in node:
                for option in node[combined]:
                    option = self.resolve(option)
                    if "properties" in option or "items" in option:
                        return option
        return node

    def child(self, node: dict | None, key: str) -> dict:
        node = self.resolve(node)
        props = node.get("properties") or {}
        if key in props:
            return props[key]
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, dict) else {}

    def items(self, node: dict | None) -> dict:
        return self.resolve(node).get("items") or {}

    def list_keys(self, node: dict | None) -> list[str] | None:
        """Keys that identify items of a list-map (None for atomic lists and sets)."""
        node = self.resolve(node)
        if node.get("x-kubernetes-list-map-keys"):
            return list(node["x-kubernetes-list-map-keys"])
        if node.get("x-kubernetes-patch-merge-key"):
            return [node["x-kubernetes-patch-merge-key"]]
        return None

    def merge_key(self, node: dict | None) -> str | None:
        """Strategic merge patch key, only where the API declares the merge strategy."""
        node = self.resolve(node)
        if "merge" in str(node.get("x-kubernetes-patch-strategy", "")).split(","):
            return node.get("x-kubernetes-patch-merge-key") or ""
        return None

    def is_set(self, node: dict | None) -> bool:
        return self.resolve(node).get("x-kubernetes-list-type") == "set"


def _to_jsonschema(node, top=False):
    """A CRD structural schema as a JSON schema: nullable, int-or-string and unknown fields as the API treats them."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _to_jsonschema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_to_jsonschema(v) for v in value]
        elif key in ("format", "x-kubernetes-validations"):
            continue
        else:
            out[key] = value
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if top:
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props["metadata"] = {"type": "object"}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def apply_defaults(obj, node, nav: Nav):
    """Fill `default:` values of a CRD schema into the object, as the API server does."""
    node = nav.resolve(node)
    if isinstance(obj, dict):
        for key, sub in (node.get("properties") or {}).items():
            if key not in obj and isinstance(sub, dict) and "default" in sub:
                obj[key] = copy.deepcopy(sub["default"])
            if key in obj:
                apply_defaults(obj[key], sub, nav)
    elif isinstance(obj, list):
        for item in obj:
            apply_defaults(item, node.get("items"), nav)


def _cause(error: jsonschema.ValidationError) -> list[dict]:
    path = field_path(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        known = set((error.schema or {}).get("properties") or {})
        extra = sorted(set(value) - known) if isinstance(value, dict) else []
        return [{"reason": "FieldValueInvalid", "field": field_path([*error.absolute_path, k]),
                 "message": f'unknown field "{field_path([*error.absolute_path, k])}"'} for k in extra]
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message) or ["?"]
        return [{"reason": "FieldValueRequired", "field": field_path([*error.absolute_path, missing[0]]),
                 "message": "Required value"}]
    if error.validator in ("type", "oneOf", "anyOf"):
        wanted = error.validator_value if error.validator == "type" else "integer or string"
        if isinstance(wanted, list):
            wanted = " or ".join(t for t in wanted if t != "null")
        return [{"reason": "FieldValueTypeInvalid", "field": path,
                 "message": f"Invalid value: {json.dumps(value)}: {path} in body must be of type {wanted}"}]
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return [{"reason": "FieldValueNotSupported", "field": path,
                 "message": f"Unsupported value: {json.dumps(value)}: supported values: {allowed}"}]
    return [{"reason": "FieldValueInvalid", "field": path,
             "message": f"Invalid value: {json.dumps(value)[:80]}: {error.message}"}]


class Validator:
    def __init__(self, k8s_version: str):
        self.dir = _schema_dir(k8s_version)
        with open(f"{self.dir}/_definitions.json", encoding="utf-8") as handle:
            self.definitions = json.load(handle)
        self.defs = self.definitions["$defs"]
        self._builtin: dict[tuple[str, str], tuple] = {}
        self._crd: dict[int, tuple] = {}

    def _builtin_schema(self, rtype: ResourceType):
        key = (rtype.api_version, rtype.kind)
        if key not in self._builtin:
            api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", rtype.api_version)
            with open(f"{self.dir}/{rtype.kind.lower()}-{api}.json", encoding="utf-8") as handle:
                schema = json.load(handle)
            registry = RefResource.from_contents(schema) @ RefRegistry()
            registry = RefResource.from_contents(self.definitions) @ registry
            self._builtin[key] = (jsonschema.Draft202012Validator(schema, registry=registry), Nav(self.defs, schema))
        return self._builtin[key]

    def _crd_schema(self, rtype: ResourceType):
        key = id(rtype.crd_schema)
        if key not in self._crd:
            schema = _to_jsonschema(rtype.crd_schema, top=True)
            self._crd[key] = (jsonschema.Draft4Validator(schema), Nav({}, rtype.crd_schema))
        return self._crd[key]

    def nav(self, rtype: ResourceType) -> Nav:
        return (self._crd_schema(rtype) if rtype.crd_schema is not None else self._builtin_schema(rtype))[1]

    def default(self, rtype: ResourceType, obj: dict) -> None:
        if rtype.crd_schema is not None:
            nav = self.nav(rtype)
            apply_defaults(obj, nav.root, nav)

    def validate(self, rtype: ResourceType, obj: dict, old: dict | None = None) -> None:
        """Raise a 422 naming every refused field; ``old`` is the stored object on updates."""
        name = obj.get("metadata", {}).get("name") or obj.get("metadata", {}).get("generateName") or ""
        if obj.get("kind") != rtype.kind or obj.get("apiVersion") != rtype.api_version:
            raise ApiError(400, f"the API version in the data ({obj.get('apiVersion')}) and kind ({obj.get('kind')}) "
                                f"do not match the endpoint's {rtype.api_version} {rtype.kind}")
        validator = (self._crd_schema(rtype) if rtype.crd_schema is not None else self._builtin_schema(rtype))[0]
        causes = []
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            causes.extend(_cause(error))
        if not causes:
            causes = self._semantic(rtype, obj, old)
        if causes:
            raise invalid(rtype, name, causes)

    def _semantic(self, rtype: ResourceType, obj: dict, old: dict | None) -> list[dict]:
        causes = []
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        pattern, what = (DNS_LABEL, "RFC 1123 label") if rtype.kind in LABEL_NAMED else (DNS_SUBDOMAIN, "RFC 1123 subdomain")
        if name is not None and (not pattern.match(name) or len(name) > 253):
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
                                      "alphanumeric characters, '-' or '.'"})
        causes += _label_causes("metadata.labels", meta.get("labels"))
        spec = obj.get("spec") or {}
        if rtype.kind in WORKLOADS or rtype.kind == "Job":
            template = spec.get("template") or {}
            causes += _label_causes("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"))
            selector = spec.get("selector")
            if rtype.kind in WORKLOADS and selector is not None:
                from .selectors import match_label_selector  # pylint: disable=import-outside-toplevel
                labels = (template.get("metadata") or {}).get("labels") or {}
                if not match_label_selector(selector, labels):
                    causes.append({"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
                                   "message": f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`"})
            if old is not None and (old.get("spec") or {}).get("selector") != selector and rtype.kind != "Job":
                causes.append({"reason": "FieldValueInvalid", "field": "spec.selector",
                               "message": f"Invalid value: {json.dumps(selector)}: field is immutable"})
            pod_spec = template.get("spec") or {}
            if rtype.kind == "Job" and pod_spec.get("restartPolicy") not in ("OnFailure", "Never"):
                causes.append({"reason": "FieldValueNotSupported", "field": "spec.template.spec.restartPolicy",
                               "message": f"Unsupported value: {json.dumps(pod_spec.get('restartPolicy'))}: "
                                          'supported values: "OnFailure", "Never"'})
            causes += _resource_causes("spec.template.spec", pod_spec)
        if rtype.kind == "Pod":
            causes += _resource_causes("spec", spec)
        return causes


def _label_causes(path: str, labels) -> list[dict]:
    causes = []
    for key, value in (labels or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append({"reason": "FieldValueInvalid", "field": f"{path}",
                           "message": f"Invalid value: {json.dumps(value)}: a valid label value for {key!r} must be 63 "
                                      "characters or less, empty, or begin and end with an alphanumeric character"})
    return causes


def _resource_causes(path: str, pod_spec: dict) -> list[dict]:
    """Extended resources (nvidia.com/gpu) cannot be overcommitted: a request needs an equal limit."""
    causes = []
    for group in ("initContainers", "containers"):
        for i, container in enumerate(pod_spec.get(group) or []):
            res = container.get("resources") or {}
            requests, limits = res.get("requests") or {}, res.get("limits") or {}
            for rname in set(requests) | set(limits):
                native = rname in NATIVE_RESOURCES or rname.startswith(NATIVE_RESOURCE_PREFIXES)
                if native:
                    continue
                where = f"{path}.{group}[{i}].resources"
                if rname not in limits:
                    causes.append({"reason": "FieldValueRequired", "field": f"{where}.limits",
                                   "message": f"Required value: Limit must be set for non overcommitable resources ({rname})"})
                elif rname in requests and str(requests[rname]) != str(limits[rname]):
                    causes.append({"reason": "FieldValueInvalid", "field": f"{where}.requests",
                                   "message": f"Invalid value: {json.dumps(requests[rname])}: must be equal to {rname} limit"})
    return causes
