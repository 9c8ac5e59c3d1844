"""JSON merge patch, strategic merge patch, JSON patch and server-side apply with managedFields.

Strategic merge and apply read list semantics (merge keys, list-map keys, atomic lists) from the
same OpenAPI schema the API server publishes, so a list merges exactly where Kubernetes merges it.
"""

from __future__ import annotations

import copy
import json

from .errors import ApiError
from .validation import Nav

MISSING = object()
# List-map keys the API server defaults before matching items (a port without protocol is TCP).
KEY_DEFAULTS = {"protocol": "TCP"}
IGNORED_TOP = ("apiVersion", "kind", "status")
IGNORED_META = ("labels", "annotations", "finalizers", "ownerReferences")


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target, patch, nav: Nav, node):
    """Kubernetes strategic merge patch for one value; ``node`` is its schema."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # $setElementOrder and $retainKeys only order or prune what the patch already says
        if value is None:
            result.pop(key, None)
            continue
        child = nav.child(node, key)
        if isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, nav, child)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key, {}), value, nav, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current: list, patch: list, nav: Nav, node) -> list:
    merge_key = nav.merge_key(node)
    if merge_key is None:
        return [item for item in copy.deepcopy(patch) if not (isinstance(item, dict) and "$patch" in item)]
    if not merge_key:  # a merged list of scalars, e.g. finalizers
        return current + [item for item in patch if item not in current]
    result = copy.deepcopy(current)
    items_node = nav.items(node)
    for item in patch:
        if not isinstance(item, dict):
            raise ApiError(400, f"strategic merge patch: list items merged by {merge_key!r} must be objects")
        index = next((i for i, old in enumerate(result) if old.get(merge_key) == item.get(merge_key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            result[index] = strategic_merge(result[index], item, nav, items_node)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"JSON patch path {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(target: dict, ops: list) -> dict:
    """RFC 6902: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    for op in ops:
        try:
            kind, parts = op["op"], _pointer(op["path"])
            if kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = copy.deepcopy(_walk(doc, source))
                if kind == "move":
                    _remove(doc, source)
                doc = _add(doc, parts, value)
            elif kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, parts)
            elif kind == "replace":
                _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "test":
                if _walk(doc, parts) != op["value"]:
                    raise ApiError(422, f"JSON patch test failed at {op['path']}")
            else:
                raise ApiError(400, f"unknown JSON patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"the server rejected our request due to an error in our request: "
                                f"JSON patch {op!r} cannot be applied ({exc!r})") from exc
    return doc


def _add(doc, parts, value):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KeyError(last)
    return doc


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        parent.pop(int(parts[-1]))
    else:
        del parent[parts[-1]]


# --- managed fields -------------------------------------------------------------------------------

def flatten(obj: dict, nav: Nav) -> dict[tuple, object]:
    """The leaf fields of an object in fieldsV1 terms (f:name, k:{key}, v:value) with their values."""
    out: dict[tuple, object] = {}
    for key, value in obj.items():
        if key in IGNORED_TOP:
            continue
        if key == "metadata":
            for mkey in IGNORED_META:
                if mkey in (value or {}):
                    _flatten(value[mkey], nav, nav.child(nav.child(nav.root, "metadata"), mkey), ("f:metadata", f"f:{mkey}"), out)
            continue
        _flatten(value, nav, nav.child(nav.root, key), (f"f:{key}",), out)
    return out


def _flatten(value, nav: Nav, node, path: tuple, out: dict) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _flatten(sub, nav, nav.child(node, key), path + (f"f:{key}",), out)
    elif isinstance(value, list) and value:
        keys = nav.list_keys(node)
        if keys and all(isinstance(item, dict) for item in value):
            for item in value:
                ident = json.dumps(_identity(item, keys), separators=(",", ":"), sort_keys=True)
                _flatten(item, nav, nav.items(node), path + (f"k:{ident}",), out)
        elif nav.is_set(node):
            for item in value:
                out[path + ("v:" + json.dumps(item),)] = item
        else:
            out[path] = value
    else:
        out[path] = value


def _identity(item: dict, keys) -> dict:
    return {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys if k in item or k in KEY_DEFAULTS}


def to_fields_v1(paths) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return tree


def from_fields_v1(tree: dict, prefix: tuple = ()) -> set[tuple]:
    paths = set()
    for key, sub in tree.items():
        if key == ".":
            continue
        if sub:
            paths |= from_fields_v1(sub, prefix + (key,))
        else:
            paths.add(prefix + (key,))
    return paths


def describe(path: tuple) -> str:
    text = ""
    for part in path:
        if part.startswith("f:"):
            text += "." + part[2:]
        elif part.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(part[2:]).items()) + "]"
        else:
            text += f"[{part}]"
    return text


def _delete_path(obj, path: tuple) -> None:
    """Remove one leaf named in fieldsV1 terms, and the list item or map it leaves empty."""
    trail = []
    node = obj
    for part in path[:-1]:
        trail.append(node)
        node = _step(node, part)
        if node is MISSING:
            return
    last = path[-1]
    if isinstance(node, dict) and last.startswith("f:"):
        node.pop(last[2:], None)
    elif isinstance(node, list):
        target = _step(node, last)
        if target is not MISSING:
            node.remove(target)


def _step(node, part):
    if part.startswith("f:") and isinstance(node, dict):
        return node.get(part[2:], MISSING)
    if part.startswith("k:") and isinstance(node, list):
        ident = json.loads(part[2:])
        for item in node:
            if isinstance(item, dict) and _identity(item, ident) == ident:
                return item
    if part.startswith("v:") and isinstance(node, list):
        value = json.loads(part[2:])
        if value in node:
            return value
    return MISSING


def apply_merge(live, applied, nav: Nav, node):
    """Merge an applied configuration into the live object: maps and list-maps merge, other lists are replaced."""
    if isinstance(applied, dict) and isinstance(live, dict):
        result = copy.deepcopy(live)
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = apply_merge(live.get(key, MISSING), value, nav, nav.child(node, key))
        return result
    if isinstance(applied, list) and isinstance(live, list):
        keys = nav.list_keys(node)
        if keys and all(isinstance(i, dict) for i in applied + live):
            result = copy.deepcopy(live)
            for item in applied:
                index = next((i for i, old in enumerate(result) if _identity(old, keys) == _identity(item, keys)), None)
                if index is None:
                    result.append(copy.deepcopy(item))
                else:
                    result[index] = apply_merge(result[index], item, nav, nav.items(node))
            return result
        if nav.is_set(node):
            return live + [i for i in applied if i not in live]
    return copy.deepcopy(applied)


class ManagedFields:
    """managedFields of one object: who owns which leaf, and how writes move ownership."""

    def __init__(self, obj: dict | None):
        self.entries = []
        for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
            self.entries.append({**entry, "paths": from_fields_v1(entry.get("fieldsV1") or {})})

    def entry(self, manager: str, operation: str, api_version: str, subresource: str = "") -> dict:
        for entry in self.entries:
            if (entry["manager"], entry["operation"], entry.get("subresource", "")) == (manager, operation, subresource):
                return entry
        entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "paths": set()}
        if subresource:
            entry["subresource"] = subresource
        self.entries.append(entry)
        return entry

    def record_update(self, old: dict | None, new: dict, nav: Nav, manager: str, api_version: str,
                      now: str, subresource: str = "") -> None:
        """An update or patch owns what it changed; others lose ownership of it."""
        before = flatten(old, nav) if old else {}
        after = flatten(new, nav)
        changed = {p for p, v in after.items() if before.get(p, MISSING) != v}
        removed = set(before) - set(after)
        if not changed and not removed:
            return
        for entry in self.entries:
            entry["paths"] -= changed | removed
        mine = self.entry(manager, "Update", api_version, subresource)
        mine["paths"] |= changed
        mine["time"] = now
        mine["apiVersion"] = api_version

    def apply(self, live: dict | None, applied: dict, nav: Nav, manager: str, force: bool,
              api_version: str, now: str) -> dict:
        """Server-side apply; returns the merged object or raises 409 listing the conflicts."""
        applied_fields = flatten(applied, nav)
        live_fields = flatten(live, nav) if live else {}
        mine = self.entry(manager, "Apply", api_version)
        conflicts = []
        for entry in self.entries:
            if entry is mine:
                continue
            for path in entry["paths"] & set(applied_fields):
                if live_fields.get(path, MISSING) != applied_fields[path]:
                    conflicts.append((entry, path))
        if conflicts and not force:
            causes = [{"reason": "FieldManagerConflict", "field": describe(p),
                       "message": f'conflict with "{e["manager"]}": {describe(p)}'} for e, p in conflicts]
            lines = "\n".join(f'- conflict with "{e["manager"]}"'
                              + (" using " + e["apiVersion"] if e.get("apiVersion") else "") + f": {describe(p)}"
                              for e, p in conflicts)
            raise ApiError(409, f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: {lines}",
                           details={"causes": causes})
        for entry, path in conflicts:
            entry["paths"].discard(path)
        others = set().union(*(e["paths"] for e in self.entries if e is not mine))
        stale = mine["paths"] - set(applied_fields) - others
        result = apply_merge(live or {}, applied, nav, nav.root)
        for path in sorted(stale, key=len, reverse=True):
            _delete_path(result, path)
        if mine["paths"] != set(applied_fields) or stale or live_fields != flatten(result, nav):
            mine["time"] = now
        mine["paths"] = set(applied_fields)
        mine["apiVersion"] = api_version
        return result

    def store(self, obj: dict, now: str) -> None:
        out = []
        for entry in self.entries:
            if not entry["paths"]:
                continue
            item = {k: v for k, v in entry.items() if k != "paths"}
            item.setdefault("time", now)
            item["fieldsType"] = "FieldsV1"
            item["fieldsV1"] = to_fields_v1(entry["paths"])
            out.append(item)
        obj.setdefault("metadata", {})["managedFields"] = out
