# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of the verify phase, and the difference of two reports.

``build_report`` turns what the verify phase gathered (per inventory host, the cluster, the mesh,
the service, the smoke test, further checks) into one JSON document of schema_version 1, described
field by field in docs/fleet-report.md and by docs/fleet-report.schema.json. ``render_markdown`` and
``render_html`` show the same document (problems first); ``publish`` writes the chosen formats
atomically on the control node, refreshes the ``fleet-report-latest.*`` copies and prunes old
reports. ``diff_reports`` compares two documents. Every failure is a FleetReportError whose message
starts with "Failed to".

The checks themselves have the one shape of module_utils/fleet_checks.py; the report invents no
check but ``host.reachable`` (fail) for an inventory host whose checks never came back.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re
import tempfile

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_checks

SCHEMA_VERSION = 1
FORMATS = ("json", "markdown", "html")
EXTENSIONS = {"json": "json", "markdown": "md", "html": "html"}
PREFIX = "fleet-report-"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMPED_RE = re.compile(r"^fleet-report-\d{8}T\d{6}Z\.(json|md|html)$")
DEFAULT_TITLE = "hymt.gpu_mesh fleet report"
DEFAULT_KEEP = 30
DEFAULT_CERT_WARN_DAYS = 60
FILE_MODE = 0o644
DIR_MODE = 0o755

VERDICT_LABELS = {
    fleet_checks.VERDICT_FAIL: "FAIL",
    fleet_checks.VERDICT_WARN: "PASS WITH WARNINGS",
    fleet_checks.VERDICT_PASS: "PASS",
}
STATUS_LABELS = {"fail": "FAIL", "warn": "WARN", "not_checked": "NOT CHECKED", "pass": "pass"}
CHECK_KEYS = ("id", "scope", "subject", "node", "status", "summary", "evidence", "remedy")
_STATUS_RANK = {status: rank for rank, status in enumerate(fleet_checks.STATUSES)}
_SCOPE_RANK = {scope: rank for rank, scope in enumerate(fleet_checks.SCOPES)}

# Field name -> kind, for the parts of the input the report reads. Missing fields become None.
HOST_FIELDS = (("driver_version", "str"), ("loaded_module_version", "str"), ("gpu_count", "int"), ("gpu_models", "strs"))
NODE_FIELDS = (
    ("name", "str"), ("ready", "bool"), ("schedulable", "bool"), ("allocatable_gpus", "int"),
    ("capacity_gpus", "int"), ("expected_gpus", "int"), ("validation", "str"), ("upgrade_state", "str"),
)
CERT_FIELDS = (("subject", "str"), ("not_after", "str"), ("days_left", "num"))
POD_FIELDS = (("name", "str"), ("node", "str"), ("proxy", "bool"), ("ready", "bool"))
SERVICE_FIELDS = (("namespace", "str"), ("deployment", "str"), ("replicas", "int"), ("ready_replicas", "int"))
SMOKE_FIELDS = (
    ("mode", "str"), ("url", "str"), ("requests", "int"), ("succeeded", "int"),
    ("p50_ms", "num"), ("p95_ms", "num"), ("error", "str"),
)
PAIR_FIELDS = (
    ("source", "str"), ("target", "str"), ("requests", "int"), ("succeeded", "int"),
    ("p50_ms", "num"), ("p95_ms", "num"), ("sample", "str"),
)


class FleetReportError(Exception):
    """Input the report cannot be built from, a directory it cannot write, a report it cannot read."""


# ---------------------------------------------------------------------------------------------
# Input normalisation: every documented field present, of its documented type, or a clear error.


def _bad(where, kind, value):
    names = {"str": "a string", "int": "an integer", "num": "a number", "bool": "a boolean", "strs": "a list of strings"}
    return FleetReportError("Failed to build the fleet report: %s must be %s or null, got %r" % (where, names[kind], value))


def _value(where, value, kind):
    """``value`` as ``kind`` (str, int, num, bool, strs); None stays None; raise FleetReportError otherwise."""
    if value is None:
        return [] if kind == "strs" else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        if isinstance(value, str):
            return value
        if number:
            return str(value)
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.match(r"^-?\d+$", value.strip()):
            return int(value)
    elif kind == "num":
        if number:
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
            return value.strip().lower() in ("true", "yes")
    elif kind == "strs":
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)):
            return [_value("%s[%d]" % (where, i), item, "str") for i, item in enumerate(value)]
    raise _bad(where, kind, value)


def _mapping(where, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FleetReportError("Failed to build the fleet report: %s must be a dictionary, got %r" % (where, value))
    return value


def _sequence(where, value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise FleetReportError("Failed to build the fleet report: %s must be a list, got %r" % (where, value))
    return list(value)


def _plain(value):
    """A JSON-clean deep copy (what cannot be serialised becomes its str())."""
    return json.loads(json.dumps(value, default=str))


def _pick(where, source, fields, keep_extra=False):
    source = _mapping(where, source)
    out = _plain(source) if keep_extra else {}
    for name, kind in fields:
        out[name] = _value("%s.%s" % (where, name), source.get(name), kind)
    return out


def _check(where, item, default_node, warnings):
    """One input check in the shape of fleet_checks.check(), exactly its keys."""
    item = _mapping(where, item)
    check_id = item.get("id")
    if not isinstance(check_id, str) or not check_id:
        raise FleetReportError("Failed to build the fleet report: %s has no id" % where)
    evidence = item.get("evidence")
    if evidence is None:
        evidence = ""
    elif not isinstance(evidence, str):
        evidence = json.dumps(evidence, sort_keys=True, default=str)
    node = item.get("node")
    try:
        out = fleet_checks.check(
            check_id,
            item.get("status"),
            _value(where + ".summary", item.get("summary"), "str") or "",
            subject=_value(where + ".subject", item.get("subject"), "str") or "",
            node=_value(where + ".node", node, "str") if node is not None else default_node,
            evidence=evidence,
            remedy=_value(where + ".remedy", item.get("remedy"), "str") or "",
        )
    except ValueError as exc:
        raise FleetReportError("Failed to build the fleet report: %s: %s" % (where, exc)) from exc
    if item.get("scope") not in (None, out["scope"]):
        raise FleetReportError("Failed to build the fleet report: %s has scope %r, but its id %r says %r"
                               % (where, item.get("scope"), check_id, out["scope"]))
    extra = sorted(set(item) - set(CHECK_KEYS))
    if extra:
        warnings.append("%s (%s) carries keys the report does not keep: %s" % (where, check_id, ", ".join(extra)))
    return out


def host_node(inventory_name, entry):
    """The node an inventory host is: its entry's node, its host summary's node, or its own name."""
    summary = _mapping("hosts.%s.host" % inventory_name, entry.get("host"))
    return entry.get("node") or summary.get("node") or inventory_name


def reachable_check(inventory_name, node, error):
    """The one check the report makes itself: an inventory host whose checks never came back."""
    return fleet_checks.check(
        "host.reachable", "fail",
        "Ansible could not reach %s, or its host checks failed, so none of them is in this report" % inventory_name,
        subject="host %s" % inventory_name, node=node, evidence=error or "",
        remedy="ansible -m ping %s" % inventory_name,
    )


def collect_checks(hosts, cluster, checks, warnings):
    """Every check of the input, in input order; ``host.reachable`` for each unreachable or failed host."""
    out = []
    for name in sorted(hosts):
        entry = _mapping("hosts.%s" % name, hosts[name])
        node = _value("hosts.%s.node" % name, host_node(name, entry), "str")
        if entry.get("unreachable") or entry.get("failed"):
            out.append(reachable_check(name, node, _value("hosts.%s.error" % name, entry.get("error"), "str")))
        for index, item in enumerate(_sequence("hosts.%s.checks" % name, entry.get("checks"))):
            out.append(_check("hosts.%s.checks[%d]" % (name, index), item, node, warnings))
    for index, item in enumerate(_sequence("cluster.checks", cluster.get("checks"))):
        out.append(_check("cluster.checks[%d]" % index, item, None, warnings))
    for index, item in enumerate(_sequence("checks", checks)):
        out.append(_check("checks[%d]" % index, item, None, warnings))
    return out


# ---------------------------------------------------------------------------------------------
# The document.


def worst(checks):
    """The most severe status among ``checks``; None when there are none."""
    statuses = [item["status"] for item in checks]
    return min(statuses, key=_STATUS_RANK.__getitem__) if statuses else None


def _node_key(node):
    # Fleet-wide checks (node None) first, then nodes by name.
    return (node is not None, node or "")


def sort_checks(checks):
    """Scope order host, cluster, mesh, service; then node; then id (subject breaks ties)."""
    return sorted(checks, key=lambda c: (_SCOPE_RANK[c["scope"]], _node_key(c["node"]), c["id"], c["subject"]))


def problems_of(checks):
    """Checks that did not pass: fail, then warn, then not_checked; then node; then id."""
    return sorted((c for c in checks if c["status"] != "pass"),
                  key=lambda c: (_STATUS_RANK[c["status"]], _node_key(c["node"]), c["id"], c["subject"]))


def build_nodes(hosts, cluster_nodes, checks, warnings):
    """One entry per node: the union of the cluster's nodes and the nodes the inventory hosts are."""
    inventory = {}
    for name in sorted(hosts):
        entry = hosts[name]
        node = host_node(name, entry)
        if node in inventory:
            warnings.append("inventory hosts %s and %s both name node %s; the report shows %s"
                            % (inventory[node][0], name, node, inventory[node][0]))
            continue
        host = dict(entry.get("host") or {})
        if isinstance(host.get("gpu_models"), list):
            # nvidia_host_verify counts GPUs per model ({name, count}); the report shows "2x NAME".
            host["gpu_models"] = [("%sx %s" % (m.get("count"), m.get("name")) if m.get("count") else m.get("name"))
                                  if isinstance(m, dict) else m for m in host["gpu_models"]]
        inventory[node] = (name, _pick("hosts.%s.host" % name, host, HOST_FIELDS))
    cluster = {}
    for index, item in enumerate(cluster_nodes):
        picked = _pick("cluster.nodes[%d]" % index, item, NODE_FIELDS)
        if not picked["name"]:
            raise FleetReportError("Failed to build the fleet report: cluster.nodes[%d] has no name" % index)
        if picked["name"] in cluster:
            raise FleetReportError("Failed to build the fleet report: cluster.nodes names %s twice" % picked["name"])
        cluster[picked["name"]] = picked
    nodes = []
    for name in sorted(set(inventory) | set(cluster)):
        inventory_name, host = inventory.get(name, (None, _pick("", {}, HOST_FIELDS)))
        kube = cluster.get(name) or _pick("", {"name": name}, NODE_FIELDS)
        own = [c for c in checks if c["node"] == name]
        nodes.append({
            "name": name,
            "host": inventory_name,
            "in_cluster": name in cluster,
            "status": worst(own) or "not_checked",
            "ready": kube["ready"],
            "schedulable": kube["schedulable"],
            "gpus": {
                "expected": kube["expected_gpus"],
                "visible": host["gpu_count"],
                "allocatable": kube["allocatable_gpus"],
                "capacity": kube["capacity_gpus"],
            },
            "driver": {"installed": host["driver_version"], "loaded": host["loaded_module_version"]},
            "gpu_models": host["gpu_models"],
            "validation": kube["validation"],
            "upgrade_state": kube["upgrade_state"],
            "problems": sum(1 for c in own if c["status"] != "pass"),
        })
    return nodes


def certificate_status(days_left, warn_days):
    """Display status of a certificate: expired fail, fewer than ``warn_days`` days warn, unknown not_checked."""
    if days_left is None:
        return "not_checked"
    if days_left < 0:
        return "fail"
    if days_left < warn_days:
        return "warn"
    return "pass"


def _certificate(where, item, warn_days):
    cert = _pick(where, item, CERT_FIELDS, keep_extra=True)
    given = cert.get("status")
    if given not in fleet_checks.STATUSES:
        cert["status"] = certificate_status(cert["days_left"], warn_days)
    return cert


def build_mesh(mesh, checks, warn_days):
    mesh = _mapping("cluster.mesh", mesh)
    out = {}
    if mesh:
        out = _plain(mesh)
        out["control_plane_version"] = _value("cluster.mesh.control_plane_version", mesh.get("control_plane_version"), "str")
        out["trust_anchors"] = [_certificate("cluster.mesh.trust_anchors[%d]" % i, item, warn_days)
                                for i, item in enumerate(_sequence("cluster.mesh.trust_anchors", mesh.get("trust_anchors")))]
        issuer = _mapping("cluster.mesh.issuer", mesh.get("issuer"))
        out["issuer"] = _certificate("cluster.mesh.issuer", issuer, warn_days) if issuer else {}
    out["status"] = worst([c for c in checks if c["scope"] == "mesh"]) or "not_checked"
    return out


def build_service(service, checks):
    service = _mapping("cluster.service", service)
    out = {}
    if service:
        out = _pick("cluster.service", service, SERVICE_FIELDS, keep_extra=True)
        out["pods"] = [_pick("cluster.service.pods[%d]" % i, item, POD_FIELDS, keep_extra=True)
                       for i, item in enumerate(_sequence("cluster.service.pods", service.get("pods")))]
    out["status"] = worst([c for c in checks if c["scope"] == "service"]) or "not_checked"
    return out


def build_smoke(smoke):
    smoke = _mapping("smoke", smoke)
    if not smoke:
        return {}
    out = _pick("smoke", smoke, SMOKE_FIELDS, keep_extra=True)
    out["language_pairs"] = [_pick("smoke.language_pairs[%d]" % i, item, PAIR_FIELDS, keep_extra=True)
                             for i, item in enumerate(_sequence("smoke.language_pairs", smoke.get("language_pairs")))]
    return out


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def scope_checks(scopes):
    """One not_checked check per concern the run left out, so that the report says what it did not look at."""
    names = {"host": "hosts", "cluster": "cluster", "mesh": "mesh", "service": "service"}
    return [fleet_checks.check("%s.scope" % scope, "not_checked",
                               "not checked, because this run's scope (fleet_verify_scope) leaves out %s" % names[scope],
                               subject="all %s checks" % scope)
            for scope in fleet_checks.SCOPES if names[scope] not in scopes]


def build_report(hosts=None, cluster=None, smoke=None, checks=None, skip=None, title=DEFAULT_TITLE, run=None,
                 now=None, cert_warn_days=DEFAULT_CERT_WARN_DAYS, scopes=("hosts", "cluster", "mesh", "service")):
    """(report, warnings): the JSON document of schema_version 1 and what looked suspicious in the input."""
    warnings = []
    hosts = _mapping("hosts", hosts)
    cluster = _mapping("cluster", cluster)
    skip = {str(key): _value("skip.%s" % key, reason, "str") or "no reason given"
            for key, reason in _mapping("skip", skip).items()}
    now = now or utc_now()
    if now.tzinfo is None:
        raise FleetReportError("Failed to build the fleet report: the time must carry a time zone")
    now = now.astimezone(datetime.timezone.utc)

    gathered = collect_checks(hosts, cluster, list(_sequence("checks", checks)) + scope_checks(scopes), warnings)
    unknown = sorted(set(skip) - {c["id"] for c in gathered})
    if unknown:
        warnings.append("skip names checks that no host, cluster or smoke test returned: %s" % ", ".join(unknown))
    gathered = sort_checks(fleet_checks.skipped(gathered, skip))
    if not gathered:
        warnings.append("the report holds no check at all, so its verdict pass says nothing about the fleet")

    report = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "title": title or DEFAULT_TITLE,
        "run": _plain(_mapping("run", run)),
        "verdict": fleet_checks.verdict(gathered),
        "summary": fleet_checks.counts(gathered),
        "nodes": build_nodes(hosts, _sequence("cluster.nodes", cluster.get("nodes")), gathered, warnings),
        "mesh": build_mesh(cluster.get("mesh"), gathered, cert_warn_days),
        "service": build_service(cluster.get("service"), gathered),
        "smoke": build_smoke(smoke),
        "problems": problems_of(gathered),
        "checks": gathered,
    }
    return report, warnings


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def verdict_line(report, path=None):
    """FLEET VERIFY: FAIL — 3 failed, 1 warning, 2 not checked, 41 passed; 3 nodes; report: PATH"""
    counts = report["summary"]
    line = "FLEET VERIFY: %s — %d failed, %s, %d not checked, %d passed; %s" % (
        VERDICT_LABELS[report["verdict"]], counts["fail"], _plural(counts["warn"], "warning"),
        counts["not_checked"], counts["pass"], _plural(len(report["nodes"]), "node"))
    return line + ("; report: %s" % path if path else "")


# ---------------------------------------------------------------------------------------------
# Renderings. Every value is shown through _text(); the HTML escapes it, the Markdown escapes pipes.


def _text(value):
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "%.1f" % value
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _slash(*values):
    return " / ".join(_text(v) for v in values)


def _count_words(status, count):
    return {"fail": "%d failed", "warn": "%d warning" + ("" if count == 1 else "s"),
            "not_checked": "%d not checked", "pass": "%d passed"}[status] % count


def _subject_note(check):
    """The subject under the node's name, unless it only repeats the node's name."""
    if check["node"] is None or check["subject"] in ("node %s" % check["node"], check["node"]):
        return ""
    return check["subject"]


def _node_label(check):
    return check["node"] if check["node"] is not None else (check["subject"] or "fleet")


def _certificates(mesh):
    rows = [("trust anchor", cert) for cert in mesh.get("trust_anchors") or []]
    if mesh.get("issuer"):
        rows.append(("issuer", mesh["issuer"]))
    return rows


def render_json(report):
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _md(value):
    """A Markdown table cell: pipes escaped, line breaks as <br>, nothing that opens an HTML tag."""
    text = _text(value).replace("\\", "\\\\").replace("|", "\\|")
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)
    return "<br>".join(line.rstrip() for line in text.splitlines()) if "\n" in text else text


def _md_code(value):
    """A Markdown code span that survives backticks and pipes inside a table cell."""
    if not value:
        return ""
    text = " ".join(str(value).split("\n")).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return "%s%s%s%s%s" % (fence, pad, text, pad, fence)


def _md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for dummy in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(report, line):
    out = ["# %s" % _md(report["title"]), "", "**%s**" % _md(line), "",
           "Generated at %s (schema version %d)." % (report["generated_at"], report["schema_version"]), ""]
    if report["run"]:
        out += _md_table(["Run", "Value"], [[_md(key), _md(value)] for key, value in sorted(report["run"].items())])
        out.append("")

    out += ["## Problems", ""]
    if report["problems"]:
        out += _md_table(
            ["Status", "Node / object", "Check", "What was seen", "What to do next"],
            [[STATUS_LABELS[c["status"]], _md(_node_label(c)), _md_code(c["id"]),
              _md(c["summary"] + ("\nseen: " + c["evidence"] if c["evidence"] else "")), _md_code(c["remedy"])]
             for c in report["problems"]])
    else:
        out.append("None: every check passed.")
    out.append("")

    out += ["## Nodes", ""]
    if report["nodes"]:
        out += _md_table(
            ["Node", "Host", "Status", "Ready / schedulable", "GPUs expected / visible / allocatable",
             "Driver installed / loaded", "Models", "Validation", "Upgrade state"],
            [[_md(n["name"]), _md(n["host"]), STATUS_LABELS[n["status"]], _slash(n["ready"], n["schedulable"]),
              _slash(n["gpus"]["expected"], n["gpus"]["visible"], n["gpus"]["allocatable"]),
              _md(_slash(n["driver"]["installed"], n["driver"]["loaded"])), _md(n["gpu_models"]),
              _md(n["validation"]), _md(n["upgrade_state"])]
             for n in report["nodes"]])
    else:
        out.append("No node: neither the cluster nor the inventory named one.")
    out.append("")

    mesh = report["mesh"]
    out += ["## Mesh", "", "Status: %s. Control-plane version: %s." % (
        STATUS_LABELS[mesh["status"]], _md(mesh.get("control_plane_version"))), ""]
    certs = _certificates(mesh)
    if certs:
        out += _md_table(["Certificate", "Subject", "Not after", "Days left", "Status"],
                         [[role, _md(c.get("subject")), _md(c.get("not_after")), _md(c.get("days_left")),
                           STATUS_LABELS[c["status"]]] for role, c in certs])
        out.append("")

    service = report["service"]
    out += ["## Service", "", "Status: %s." % STATUS_LABELS[service["status"]]]
    if len(service) > 1:
        out += ["Deployment %s/%s: %s of %s replicas ready." % (
            _md(service.get("namespace")), _md(service.get("deployment")),
            _md(service.get("ready_replicas")), _md(service.get("replicas"))), ""]
        if service.get("pods"):
            out += _md_table(["Pod", "Node", "Proxy", "Ready"],
                             [[_md(p["name"]), _md(p["node"]), _md(p["proxy"]), _md(p["ready"])] for p in service["pods"]])
    out.append("")

    smoke = report["smoke"]
    out += ["## Smoke", ""]
    if smoke:
        out.append("Mode %s against %s: %s of %s requests succeeded; p50 %s ms, p95 %s ms." % (
            _md(smoke["mode"]), _md_code(smoke["url"]) or "—", _md(smoke["succeeded"]), _md(smoke["requests"]),
            _md(smoke["p50_ms"]), _md(smoke["p95_ms"])))
        if smoke["error"]:
            out.append("Error: %s" % _md(smoke["error"]))
        out.append("")
        if smoke["language_pairs"]:
            out += _md_table(["Source", "Target", "Requests", "Succeeded", "p50 ms", "p95 ms", "Sample"],
                             [[_md(p["source"]), _md(p["target"]), _md(p["requests"]), _md(p["succeeded"]),
                               _md(p["p50_ms"]), _md(p["p95_ms"]), _md(p["sample"])] for p in smoke["language_pairs"]])
            out.append("")
    else:
        out += ["The smoke test did not run.", ""]

    out += ["## All checks", ""]
    if report["checks"]:
        out += _md_table(["Status", "Scope", "Node", "Check", "Subject", "Summary", "Remedy"],
                         [[STATUS_LABELS[c["status"]], c["scope"], _md(c["node"]), _md_code(c["id"]), _md(c["subject"]),
                           _md(c["summary"]), _md_code(c["remedy"])] for c in report["checks"]])
    else:
        out.append("No check ran.")
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
:root{--fail:#b42318;--fail-bg:#fee4e2;--warn:#93370d;--warn-bg:#fef0c7;--nc:#475467;--nc-bg:#eaecf0;
--pass:#067647;--pass-bg:#dcfae6;--line:#d0d5dd;--ink:#101828;--muted:#475467}
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:var(--ink);font:14px/1.45 system-ui,"Segoe UI","DejaVu Sans",
"Liberation Sans",Arial,"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif}
main{max-width:1360px;margin:0 auto;padding:18px 22px 48px}
h1{font-size:22px;margin:0 0 10px}
h2{font-size:18px;margin:26px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
.banner{display:flex;align-items:center;gap:18px;padding:14px 20px;border-radius:8px;color:#fff}
.banner .word{font-size:30px;font-weight:800;letter-spacing:.04em;white-space:nowrap}
.banner .line{font-size:15px;font-weight:600;overflow-wrap:anywhere}
.v-fail{background:var(--fail)}.v-pass_with_warnings{background:#b54708}.v-pass{background:var(--pass)}
.meta{color:var(--muted);margin:8px 0 0}
.meta span{margin-right:18px;white-space:nowrap}
.counts{display:flex;gap:10px;margin:12px 0 0;flex-wrap:wrap}
.count{padding:6px 14px;border-radius:6px;font-weight:700;border:1px solid}
.count.zero{color:var(--muted);background:#fff;border-color:var(--line);font-weight:600}
.nowrap{white-space:nowrap}
table{border-collapse:collapse;width:100%;background:#fff;margin:4px 0 10px}
th,td{border:1px solid var(--line);padding:6px 9px;text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600;white-space:nowrap}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.st{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:700;white-space:nowrap;border:1px solid}
.st-fail{color:var(--fail);background:var(--fail-bg);border-color:var(--fail)}
.st-warn{color:var(--warn);background:var(--warn-bg);border-color:#dc6803}
.st-not_checked{color:var(--nc);background:var(--nc-bg);border-color:#98a2b3}
.st-pass{color:var(--pass);background:var(--pass-bg);border-color:#17b26a}
tr.r-fail>td:first-child{box-shadow:inset 5px 0 var(--fail)}
tr.r-warn>td:first-child{box-shadow:inset 5px 0 #dc6803}
tr.r-not_checked>td:first-child{box-shadow:inset 5px 0 #98a2b3}
tr.r-pass>td:first-child{box-shadow:inset 5px 0 #17b26a}
code{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;background:#f2f4f7;
border:1px solid #e4e7ec;border-radius:4px;padding:1px 5px;white-space:pre-wrap;overflow-wrap:anywhere}
.seen{margin-top:4px;color:var(--muted);font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:9em;overflow:auto}
.obj{font-weight:600}.sub{color:var(--muted);font-size:12px}
.none{color:var(--muted);font-style:italic}
details{margin-top:26px}
details>summary{font-size:18px;font-weight:600;cursor:pointer}
"""


def _e(value):
    return html.escape(_text(value), quote=True)


def _pill(status):
    return '<span class="st st-%s">%s</span>' % (status, STATUS_LABELS[status])


def _html_table(header, rows, attrs=""):
    head = "".join("<th>%s</th>" % html.escape(h) for h in header)
    return ["<table%s><thead><tr>%s</tr></thead><tbody>" % (attrs, head)] + rows + ["</tbody></table>"]


def _seen(check):
    text = "<div>%s</div>" % _e(check["summary"])
    if check["evidence"]:
        text += '<div class="seen">%s</div>' % _e(check["evidence"])
    return text


def _code(value):
    return "<code>%s</code>" % _e(value) if value else ""


def render_html(report, line):
    verdict = report["verdict"]
    counts = report["summary"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s — %s</title>" % (_e(report["title"]), VERDICT_LABELS[verdict]),
        "<style>%s</style></head><body><main>" % _CSS,
        "<header>",
        "<h1>%s</h1>" % _e(report["title"]),
        '<div class="banner v-%s"><span class="word" id="verdict" data-verdict="%s">%s</span>'
        '<span class="line" id="verdict-line">%s</span></div>' % (verdict, verdict, VERDICT_LABELS[verdict], _e(line)),
        '<div class="counts">%s</div>' % "".join(
            '<span class="count %s">%s</span>' % ("st-" + s if counts[s] else "zero", html.escape(_count_words(s, counts[s])))
            for s in fleet_checks.STATUSES),
        '<p class="meta"><span>generated %s</span>%s</p>' % (_e(report["generated_at"]), "".join(
            "<span>%s: %s</span>" % (_e(k), _e(v)) for k, v in sorted(report["run"].items()))),
        "</header>",
    ]

    out.append('<section id="problems"><h2>Problems (%d)</h2>' % len(report["problems"]))
    if report["problems"]:
        out += _html_table(
            ["Status", "Node / object", "Check", "What was seen", "What to do next"],
            ['<tr class="r-%s"><td>%s</td><td><div class="obj">%s</div><div class="sub">%s</div></td>'
             "<td><code>%s</code></td><td>%s</td><td>%s</td></tr>"
             % (c["status"], _pill(c["status"]), _e(_node_label(c)), _e(_subject_note(c)),
                _e(c["id"]), _seen(c), _code(c["remedy"]))
             for c in report["problems"]])
    else:
        out.append('<p class="none">None: every check passed.</p>')
    out.append("</section>")

    out.append('<section><h2>Nodes (%d)</h2>' % len(report["nodes"]))
    out += _html_table(
        ["Node", "Host", "Status", "Ready / schedulable", "GPUs expected / visible / allocatable",
         "Driver installed / loaded", "Models", "Validation", "Upgrade state"],
        ['<tr data-node="%s" class="r-%s"><td class="obj nowrap">%s</td><td class="nowrap">%s</td><td class="nowrap">%s%s</td>'
         '<td>%s</td><td class="num">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
         % (html.escape(n["name"], quote=True), n["status"], _e(n["name"]), _e(n["host"]), _pill(n["status"]),
            ' <span class="sub">%s</span>' % _plural(n["problems"], "problem") if n["problems"] else "",
            _e(_slash(n["ready"], n["schedulable"])),
            _e(_slash(n["gpus"]["expected"], n["gpus"]["visible"], n["gpus"]["allocatable"])),
            _e(_slash(n["driver"]["installed"], n["driver"]["loaded"])), _e(n["gpu_models"]),
            _e(n["validation"]), _e(n["upgrade_state"]))
         for n in report["nodes"]],
        attrs=' id="nodes"')
    if not report["nodes"]:
        out.append('<p class="none">No node: neither the cluster nor the inventory named one.</p>')
    out.append("</section>")

    mesh = report["mesh"]
    out.append('<section id="mesh"><h2>Mesh %s</h2>' % _pill(mesh["status"]))
    out.append("<p>Control-plane version: <b>%s</b></p>" % _e(mesh.get("control_plane_version")))
    certs = _certificates(mesh)
    if certs:
        out += _html_table(
            ["Certificate", "Subject", "Not after", "Days left", "Status"],
            ['<tr class="r-%s"><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td><td>%s</td></tr>'
             % (c["status"], role, _e(c.get("subject")), _e(c.get("not_after")), _e(c.get("days_left")), _pill(c["status"]))
             for role, c in certs])
    out.append("</section>")

    service = report["service"]
    out.append('<section id="service"><h2>Service %s</h2>' % _pill(service["status"]))
    if len(service) > 1:
        out.append("<p>Deployment <b>%s/%s</b>: %s of %s replicas ready.</p>" % (
            _e(service.get("namespace")), _e(service.get("deployment")),
            _e(service.get("ready_replicas")), _e(service.get("replicas"))))
        if service.get("pods"):
            out += _html_table(
                ["Pod", "Node", "Proxy", "Ready"],
                ['<tr class="r-%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                 % ("pass" if p["proxy"] and p["ready"] else "fail", _e(p["name"]), _e(p["node"]), _e(p["proxy"]), _e(p["ready"]))
                 for p in service["pods"]])
    else:
        out.append('<p class="none">No service facts were gathered.</p>')
    out.append("</section>")

    smoke = report["smoke"]
    out.append('<section id="smoke"><h2>Smoke</h2>')
    if smoke:
        out.append("<p>Mode <b>%s</b> against <code>%s</code>: <b>%s of %s</b> requests succeeded; "
                   "p50 <b>%s</b> ms, p95 <b>%s</b> ms.</p>" % (
                       _e(smoke["mode"]), _e(smoke["url"]), _e(smoke["succeeded"]), _e(smoke["requests"]),
                       _e(smoke["p50_ms"]), _e(smoke["p95_ms"])))
        if smoke["error"]:
            out.append('<p><span class="st st-fail">ERROR</span> %s</p>' % _e(smoke["error"]))
        if smoke["language_pairs"]:
            out += _html_table(
                ["Source", "Target", "Requests", "Succeeded", "p50 ms", "p95 ms", "Sample"],
                ['<tr><td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
                 '<td class="num">%s</td><td>%s</td></tr>'
                 % (_e(p["source"]), _e(p["target"]), _e(p["requests"]), _e(p["succeeded"]), _e(p["p50_ms"]),
                    _e(p["p95_ms"]), _e(p["sample"]))
                 for p in smoke["language_pairs"]])
    else:
        out.append('<p class="none">The smoke test did not run.</p>')
    out.append("</section>")

    out.append('<details id="checks"><summary>All checks (%d)</summary>' % len(report["checks"]))
    out += _html_table(
        ["Status", "Scope", "Node", "Check", "Subject", "What was seen", "Remedy"],
        ['<tr class="r-%s"><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>'
         % (c["status"], _pill(c["status"]), c["scope"], _e(c["node"]), _e(c["id"]), _e(c["subject"]), _seen(c),
            _code(c["remedy"]))
         for c in report["checks"]])
    out.append("</details>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Files.


def stamp_of(report):
    moment = datetime.datetime.strptime(report["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime(STAMP_FORMAT)


def report_paths(dest_dir, stamp, formats):
    """{json, markdown, html, latest_json, latest_markdown, latest_html}: a path per written format, else None."""
    paths = {}
    for fmt in FORMATS:
        wanted = fmt in formats
        paths[fmt] = os.path.join(dest_dir, "%s%s.%s" % (PREFIX, stamp, EXTENSIONS[fmt])) if wanted else None
        paths["latest_" + fmt] = os.path.join(dest_dir, "%slatest.%s" % (PREFIX, EXTENSIONS[fmt])) if wanted else None
    return paths


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same directory and os.replace, mode 0644."""
    fd, temporary = tempfile.mkstemp(prefix=".%s" % PREFIX, suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def ensure_dir(dest_dir):
    if os.path.isdir(dest_dir):
        return
    if os.path.exists(dest_dir):
        raise FleetReportError("Failed to write the fleet report: %s exists and is not a directory" % dest_dir)
    try:
        os.makedirs(dest_dir, mode=DIR_MODE)
        os.chmod(dest_dir, DIR_MODE)
    except OSError as exc:
        raise FleetReportError("Failed to create the report directory %s: %s" % (dest_dir, exc)) from exc


def prune(dest_dir, keep):
    """Delete all but the ``keep`` newest timestamped reports of each format; only fleet-report-<stamp>.* files."""
    by_extension = {}
    for name in os.listdir(dest_dir):
        match = STAMPED_RE.match(name)
        if match and os.path.isfile(os.path.join(dest_dir, name)):
            by_extension.setdefault(match.group(1), []).append(name)
    removed = []
    for names in by_extension.values():
        # The stamp sorts as the time it names, so the newest come first in reverse name order.
        for name in sorted(names, reverse=True)[keep:]:
            path = os.path.join(dest_dir, name)
            try:
                os.unlink(path)
            except OSError as exc:
                raise FleetReportError("Failed to delete the old report %s: %s" % (path, exc)) from exc
            removed.append(path)
    return sorted(removed)


def publish(dest_dir, formats=FORMATS, keep=DEFAULT_KEEP, now=None, **inputs):
    """Build the report, write each format and its latest copy, prune; the module's return values."""
    unknown = sorted(set(formats or ()) - set(FORMATS))
    formats = [fmt for fmt in FORMATS if fmt in (formats or ())]
    if unknown or not formats:
        raise FleetReportError("Failed to write the fleet report: formats must name one or more of %s" % ", ".join(FORMATS))
    if keep < 1:
        raise FleetReportError("Failed to write the fleet report: keep must be at least 1 (the report just written), got %d" % keep)
    report, warnings = build_report(now=now, **inputs)
    paths = report_paths(dest_dir, stamp_of(report), formats)
    line = verdict_line(report, paths["html"] or paths["markdown"] or paths["json"])
    renderers = {"json": render_json, "markdown": lambda r: render_markdown(r, line), "html": lambda r: render_html(r, line)}
    ensure_dir(dest_dir)
    try:
        for fmt in formats:
            text = renderers[fmt](report)
            write_atomic(paths[fmt], text)
            write_atomic(paths["latest_" + fmt], text)
    except OSError as exc:
        raise FleetReportError("Failed to write the fleet report to %s: %s" % (dest_dir, exc)) from exc
    try:
        pruned = prune(dest_dir, keep)
    except OSError as exc:
        raise FleetReportError("Failed to list %s to prune old reports: %s" % (dest_dir, exc)) from exc
    return {
        "report": report,
        "paths": paths,
        "verdict": report["verdict"],
        "verdict_line": line,
        "summary": dict(report["summary"], nodes=len(report["nodes"])),
        "pruned": pruned,
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------------------------
# Difference of two reports.


def load_report(path, label="report"):
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise FleetReportError("Failed to read the %s fleet report %s: %s" % (label, path, exc)) from exc
    except ValueError as exc:
        raise FleetReportError("Failed to read the %s fleet report %s: not JSON (%s)" % (label, path, exc)) from exc
    if not isinstance(document, dict) or "schema_version" not in document:
        raise FleetReportError("Failed to read the %s fleet report %s: it has no schema_version, so it is no fleet report"
                               % (label, path))
    return document


def _key(check):
    return (check["id"], check.get("node"), check.get("subject") or "")


def _where(check):
    return check["id"] + (" on %s" % check["node"] if check.get("node") else " (%s)" % (check.get("subject") or "fleet-wide"))


def diff_reports(old, new):
    """What changed from ``old`` to ``new`` (two report documents of one schema_version).

    Checks are matched by id, node and subject. A problem is a check that did not pass; a new problem
    is one that was absent or passed in ``old``, a resolved problem one that passes or is absent in ``new``.
    """
    versions = (old.get("schema_version"), new.get("schema_version"))
    if versions[0] != versions[1]:
        raise FleetReportError(
            "Failed to compare fleet reports: the old report has schema_version %r and the new one %r; "
            "only reports of the same schema version can be compared" % versions)
    if versions[0] != SCHEMA_VERSION:
        raise FleetReportError("Failed to compare fleet reports: they have schema_version %r, and this collection reads %d"
                               % (versions[0], SCHEMA_VERSION))
    try:
        old_checks = {_key(c): c for c in old["checks"]}
        new_checks = {_key(c): c for c in new["checks"]}
        old_nodes = {n["name"] for n in old["nodes"]}
        new_nodes = {n["name"] for n in new["nodes"]}
        verdicts = (old["verdict"], new["verdict"])
        counts = (old["summary"], new["summary"])
    except (KeyError, TypeError) as exc:
        raise FleetReportError("Failed to compare fleet reports: a report lacks %s" % exc) from exc

    changed, appeared, resolved = [], [], []
    for key in sorted(set(old_checks) | set(new_checks), key=lambda k: (k[0], _node_key(k[1]), k[2])):
        before, after = old_checks.get(key), new_checks.get(key)
        was = before["status"] if before else "absent"
        now = after["status"] if after else "absent"
        if before and after and was != now:
            changed.append({"id": key[0], "node": key[1], "subject": key[2], "old": was, "new": now,
                            "summary": after.get("summary", "")})
        if after and now != "pass" and was in ("pass", "absent"):
            appeared.append(dict(after, was=was))
        if before and was != "pass" and now in ("pass", "absent"):
            resolved.append(dict(before, now=now))
    appeared = problems_of(appeared)
    resolved = problems_of(resolved)

    lines = ["old report %s (%s), new report %s (%s)" % (old.get("generated_at"), verdicts[0], new.get("generated_at"), verdicts[1])]
    lines.append("verdict: %s → %s" % verdicts if verdicts[0] != verdicts[1] else "verdict unchanged: %s" % verdicts[0])
    lines.append("checks: " + ", ".join("%s %s → %s" % (s, counts[0].get(s, 0), counts[1].get(s, 0)) for s in fleet_checks.STATUSES))
    lines += ["node added: %s" % name for name in sorted(new_nodes - old_nodes)]
    lines += ["node removed: %s" % name for name in sorted(old_nodes - new_nodes)]
    lines += ["new problem: %s %s (was %s): %s" % (STATUS_LABELS[c["status"]], _where(c), c["was"], c.get("summary", ""))
              for c in appeared]
    lines += ["resolved: %s (%s → %s)" % (_where(c), c["status"], c["now"]) for c in resolved]
    listed = {_key(c) for c in appeared} | {_key(c) for c in resolved}
    lines += ["changed: %s %s → %s" % (_where(c), c["old"], c["new"]) for c in changed if _key(c) not in listed]
    if not (changed or appeared or resolved):
        lines.append("no check changed status")
    return {
        "verdict_changed": {"old": verdicts[0], "new": verdicts[1]} if verdicts[0] != verdicts[1] else None,
        "changed_checks": changed,
        "new_problems": appeared,
        "resolved_problems": resolved,
        "nodes_added": sorted(new_nodes - old_nodes),
        "nodes_removed": sorted(old_nodes - new_nodes),
        "summary_lines": lines,
    }
