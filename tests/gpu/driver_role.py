# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-GPU acceptance of the role hymt.gpu_mesh.nvidia_driver (issue 8, item 2).

Run it through tests/gpu/run.sh (ansible-core and the collection path) as root on a GPU host whose
driver is already installed. It runs the role over a local connection, once per case, and checks:
the loaded driver's branch is kept with changed=0 and no reboot, whatever the source; another
branch is refused with a message naming both versions and nothing changed; the Ubuntu variables
and package names of source distro are exercised in check mode. Cases that could touch packages
run with --check. Writes its section of RESULTS_DIR/gpu.md; exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import page  # noqa: E402

HEADING = "## nvidia_driver role on a real GPU host (issue 8, item 2)"
BEGIN = "<!-- BEGIN nvidia_driver: written by tests/gpu/run.sh -->"
END = "<!-- END nvidia_driver -->"
MARK = "HYMT_CASE "
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+"
                   r"skipped=(\d+)\s+rescued=(\d+)", re.MULTILINE)

REPORT = (
    "{{ {'result': nvidia_driver_result | default(None), 'failure': __case_failure | default(None),"
    " 'packages': __nvidia_driver_pkgs | default(None),"
    " 'distro_branches': __nvidia_driver_distro_branches | default(None),"
    " 'headers_package': __nvidia_driver_headers_package | default(None),"
    " 'os': [ansible_facts['distribution'] | default(None), ansible_facts['distribution_version'] | default(None),"
    "        ansible_facts['distribution_release'] | default(None)],"
    " 'loaded': __nvidia_driver_before.driver_version | default(None)} | to_json | b64encode }}"
)

PLAYBOOK = [{
    "name": "nvidia_driver acceptance case",
    "hosts": "localhost",
    "gather_facts": False,
    "tasks": [{
        "block": [{"name": "Run the role", "ansible.builtin.include_role": {"name": "hymt.gpu_mesh.nvidia_driver"}}],
        "rescue": [{"name": "Keep the failure", "ansible.builtin.set_fact": {"__case_failure": {
            "task": "{{ ansible_failed_task.name | default('') }}",
            "msg": "{{ ansible_failed_result.msg | default('') }}"}}}],
        "always": [{"name": "Report", "ansible.builtin.debug": {"msg": MARK + REPORT}}],
    }],
}]


def cases(loaded):
    """(title, extra vars, check mode, expectation) for the driver loaded now (e.g. 580.159.04)."""
    branch = loaded.split(".")[0]
    other = "570" if branch != "570" else "580"
    return [
        ("source preinstalled, branch %s (loaded)" % branch,
         {"nvidia_driver_source": "preinstalled", "nvidia_driver_branch": branch}, False, "keep"),
        ("default source (cuda_repo), branch %s (default variables)" % branch, {}, False, "keep"),
        ("source preinstalled, branch %s" % other,
         {"nvidia_driver_source": "preinstalled", "nvidia_driver_branch": other}, False, "refuse"),
        ("default source (cuda_repo), branch %s, --check" % other, {"nvidia_driver_branch": other}, True, "refuse"),
        ("source distro, branch %s, --check" % branch, {"nvidia_driver_source": "distro", "nvidia_driver_branch": branch},
         True, "keep"),
        ("source distro, branch %s, --check" % other, {"nvidia_driver_source": "distro", "nvidia_driver_branch": other},
         True, "refuse"),
        ("source distro, branch %s, ubuntu_server, proprietary, --check" % other,
         {"nvidia_driver_source": "distro", "nvidia_driver_branch": other, "nvidia_driver_ubuntu_server": True,
          "nvidia_driver_flavour": "proprietary"}, True, "refuse"),
    ], branch, other


def run_case(playbook, extra, check):
    cmd = [sys.executable, "-m", "ansible", "playbook", "-i", "localhost,", "-c", "local", str(playbook),
           "-e", json.dumps(dict(extra, ansible_python_interpreter=sys.executable))]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    recap = RECAP.search(proc.stdout)
    report = re.search(re.escape(MARK) + r"([A-Za-z0-9+/=]+)", proc.stdout)
    outcome = {
        "rc": proc.returncode,
        "recap": dict(zip(("ok", "changed", "unreachable", "failed", "skipped", "rescued"),
                          map(int, recap.groups()))) if recap else None,
        "report": json.loads(base64.b64decode(report.group(1))) if report else None,
        "stdout": proc.stdout, "stderr": proc.stderr,
    }
    return outcome


def judge(outcome, expect, loaded, requested):
    """(passed, reasons) of one case."""
    recap, report = outcome["recap"], outcome["report"] or {}
    reasons = []
    if recap is None or not outcome["report"]:
        return False, ["no play recap or report (rc=%d)" % outcome["rc"]]
    if recap["changed"] != 0:
        reasons.append("changed=%d" % recap["changed"])
    result, failure = report.get("result") or {}, report.get("failure")
    if expect == "keep":
        if failure or recap["failed"]:
            reasons.append("failed: %s" % (failure or {}).get("msg"))
        if result.get("action") not in ("kept", "adopted") or result.get("version") != loaded:
            reasons.append("action %s version %s" % (result.get("action"), result.get("version")))
        if result.get("rebooted") not in (False, "False", "false"):
            reasons.append("rebooted=%s" % result.get("rebooted"))
    else:
        message = (failure or {}).get("msg") or ""
        if not failure:
            reasons.append("was not refused")
        elif loaded not in message or requested not in message:
            reasons.append("message lacks %s or %s" % (loaded, requested))
        if "nothing was changed" not in message.lower() and "changes nothing" not in message.lower():
            reasons.append("message does not say that nothing was changed")
    return not reasons, reasons


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="directory for gpu.md and driver-role.json")
    opts = parser.parse_args()
    opts.results.mkdir(parents=True, exist_ok=True)
    smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, check=True)
    loaded = smi.stdout.split()[0]
    case_list, branch, other = cases(loaded)
    ansible_version = subprocess.run([sys.executable, "-m", "ansible", "adhoc", "--version"],
                                     capture_output=True, text=True, check=False).stdout.splitlines()[0]
    rows, records, failed = [], [], 0
    with tempfile.TemporaryDirectory() as workdir:
        playbook = Path(workdir) / "case.yml"
        playbook.write_text(json.dumps(PLAYBOOK))
        for title, extra, check, expect in case_list:
            requested = extra.get("nvidia_driver_branch", branch)
            outcome = run_case(playbook, extra, check)
            passed, reasons = judge(outcome, expect, loaded, requested)
            failed += not passed
            report, recap = outcome["report"] or {}, outcome["recap"] or {}
            result, failure = report.get("result") or {}, report.get("failure") or {}
            records.append({"case": title, "vars": extra, "check": check, "expect": expect, "passed": passed,
                            "reasons": reasons, "recap": outcome["recap"], "report": outcome["report"],
                            "stdout": outcome["stdout"], "stderr": outcome["stderr"]})
            print("%s: %s %s" % ("PASS" if passed else "FAIL", title, "; ".join(reasons)), flush=True)
            if not passed:
                print(outcome["stdout"][-3000:], outcome["stderr"][-2000:], flush=True)
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                cell(title), "keep, changed=0, no reboot" if expect == "keep" else "refuse naming %s and %s, changed=0" % (loaded, requested),
                recap.get("changed", "?"), "yes" if failure or recap.get("failed") else "no",
                cell("%s / %s" % (result.get("action"), result.get("rebooted"))) if result else "-",
                cell(", ".join(report["packages"])) if report.get("packages") else "-",
                cell(failure.get("msg") or result.get("message") or "-"),
                "pass" if passed else "FAIL: " + cell("; ".join(reasons))))
    (opts.results / "driver-role.json").write_text(json.dumps(records, indent=2) + "\n")
    first = next((r["report"] for r in records if r["report"]), {}) or {}
    os_name = " ".join(str(part) for part in first.get("os") or [] if part)
    lines = [
        "### Run of %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "",
        "Host: %s, loaded driver %s (installed outside the package manager), %s, Python %s (%s); the role ran as "
        "root over a local connection (`ansible-playbook -i localhost, -c local`), one playbook per case. Ubuntu's "
        "variables as loaded: distro branches refused `%s`, headers package `%s`." % (
            os_name or "?", loaded, ansible_version, sys.version.split()[0],
            "its apt binding, python3-apt, is importable" if importlib.util.find_spec("apt")
            else "without the apt binding python3-apt",
            json.dumps(first.get("distro_branches")), first.get("headers_package")),
        "",
        "| case | expected | changed | failed | action / rebooted | packages (Ubuntu vars) | message | result |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ] + rows + [
        "",
        "%d of %d cases pass. `--check` cases are the ones that could reach package tasks; a refusal stops the "
        "role before any change. Package names show what the role computed for the requested branch before "
        "refusing (no package task ran). Full outputs: driver-role.json of the run." % (len(rows) - failed, len(rows)),
    ]
    dest = page.write_section(opts.results, HEADING, BEGIN, END, "\n".join(lines))
    print("\n".join(lines))
    print("wrote %s; %s" % (dest, "FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
