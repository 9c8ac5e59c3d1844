# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of a verify check, shared by the verify modules and the fleet report.

A check is a plain dictionary::

    {"id": "host.driver_loaded", "scope": "host", "subject": "node gpu-1", "node": "gpu-1",
     "status": "fail", "summary": "...", "evidence": "...", "remedy": "..."}

``status`` is one of STATUSES: ``fail`` (the fleet is not what was asked), ``warn`` (it is, but
something needs attention soon), ``not_checked`` (the check could not be made; ``summary`` says
why, and it never counts as a pass) and ``pass``. ``node`` names the Kubernetes node (or the
inventory host when it is not a node) a check belongs to, or is None for fleet-wide checks.
``remedy`` is the next command or action for an operator; empty on a pass.
"""

from __future__ import annotations

# Most severe first: the report sorts problems in this order.
STATUSES = ("fail", "warn", "not_checked", "pass")
SCOPES = ("host", "cluster", "mesh", "service")
VERDICT_FAIL = "fail"
VERDICT_WARN = "pass_with_warnings"
VERDICT_PASS = "pass"


def check(check_id, status, summary, subject="", node=None, evidence="", remedy=""):
    """One check result; raises ValueError on an unknown status or scope (a programming error)."""
    if status not in STATUSES:
        raise ValueError("unknown check status %r" % (status,))
    scope = check_id.split(".", 1)[0]
    if scope not in SCOPES:
        raise ValueError("check id %r does not start with one of %s" % (check_id, ", ".join(SCOPES)))
    return {
        "id": check_id,
        "scope": scope,
        "subject": subject,
        "node": node,
        "status": status,
        "summary": summary,
        "evidence": evidence if isinstance(evidence, str) else str(evidence),
        "remedy": "" if status == "pass" else remedy,
    }


def skipped(checks, skip):
    """Replace the status of every check whose id is a key of ``skip`` by not_checked, with the reason given.

    ``skip`` maps a check id to the reason an operator gave for not checking it (fleet_verify_skip).
    A skipped check keeps its evidence, so the report still shows what was seen.
    """
    out = []
    for item in checks:
        reason = skip.get(item["id"])
        if reason is None:
            out.append(item)
            continue
        out.append(dict(item, status="not_checked", remedy="",
                        summary="not checked, because %s (fleet_verify_skip); seen: %s" % (reason, item["summary"])))
    return out


def verdict(checks):
    """fail when any check failed, pass_with_warnings when any warned, else pass; not_checked never fails."""
    statuses = {item["status"] for item in checks}
    if "fail" in statuses:
        return VERDICT_FAIL
    if "warn" in statuses:
        return VERDICT_WARN
    return VERDICT_PASS


def counts(checks):
    """Number of checks per status, every status present."""
    out = dict.fromkeys(STATUSES, 0)
    for item in checks:
        out[item["status"]] += 1
    return out
