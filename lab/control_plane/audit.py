"""The lab cluster's request log and fault rules, as tests and Molecule scenarios read and set them.

Requests are counted from the API server's own audit log (JSON lines; component traffic is left out
by the audit policy), for the product's user only: what a playbook or module asked of the cluster.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections import Counter
from pathlib import Path

import yaml

from .cluster import PRODUCT_USER, Cluster


class AuditLog:
    def __init__(self, cluster: Cluster, user: str = PRODUCT_USER):
        self.path = cluster.state / "audit.log"
        self.mark = cluster.state / "audit.offset"
        self.user = user

    def events(self, since_mark: bool = True) -> list[dict]:
        offset = int(self.mark.read_text()) if since_mark and self.mark.exists() else 0
        seen, events = set(), []
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            for line in handle:
                event = json.loads(line)
                if event.get("user", {}).get("username") != self.user or event["auditID"] in seen:
                    continue
                seen.add(event["auditID"])
                events.append(event)
        return events

    def timeline(self) -> list[dict]:
        """Each request in the order received: when, verb, path (no query) and response code."""
        return [{"time": e["requestReceivedTimestamp"], "verb": e["verb"], "path": e["requestURI"].split("?", 1)[0],
                 "code": e.get("responseStatus", {}).get("code")} for e in self.events()]

    def summary(self, reset: bool = False) -> dict:
        events = self.events()
        counts = Counter(f"{e['verb'].upper()} {e['requestURI'].split('?', 1)[0]}" for e in events)
        result = {"total": len(events), "by_verb": dict(Counter(e["verb"] for e in events)),
                  "by_status": dict(Counter(str(e.get("responseStatus", {}).get("code", "")) for e in events)),
                  "counts": dict(counts)}
        if reset:
            self.mark.write_text(str(self.path.stat().st_size))
        return result


def set_faults(cluster: Cluster, rules: list | None, clear: bool = False) -> dict:
    """Replace (or read, with rules None; or clear) the fault proxy's rules."""
    record = cluster.record()
    kubeconfig = yaml.safe_load(Path(record["kubeconfig"]).read_text(encoding="utf-8"))
    token = kubeconfig["users"][0]["user"]["token"]
    method, body = ("DELETE", None) if clear else ("GET", None) if rules is None else ("POST", {"rules": rules})
    request = urllib.request.Request(f"{record['url']}/_lab/faults", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=record["ca"])
    with urllib.request.urlopen(request, context=context, timeout=15) as response:
        return json.loads(response.read())
