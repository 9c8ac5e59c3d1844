"""Run the whole hymt.gpu_mesh test suite and end with one line: ``N passed, N failed``.

Stages, in order (``--only STAGE`` runs one): ansible-test sanity on a copy of the collection laid
out as ansible_collections/hymt/gpu_mesh, ansible-lint with the production profile, the lab's
upstream programs (Kubernetes, etcd, KWOK, Helm built from their Go modules when not cached) and the
model server's venv, pytest over tests/ (unit tests, module tests and the lab cluster's tests),
every Molecule scenario under molecule/ (fleet_verify's create step is `make lab`'s run: site.yml, every
phase in one run, with only hymt_kubeconfig set for the cluster, inventories/lab).
Pytest counts each test; every other stage counts each sanity test or scenario. Any failure makes
the exit status non-zero. Run through ``make test`` so that .venv and the system packages exist.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"
STAGES = ("sanity", "lint", "lab", "unit", "molecule")
# Upstream-shaped manifests (multi-document YAML, as `linkerd install` and Gateway API releases ship
# them) that stand in for real installs in the lab: data, not collection content, never shipped.
SANITY_EXCLUDED = ("lab/fixtures/",)

# ansible-test --venv bootstraps pip with a script it downloads from a host this project cannot
# count on reaching; it first looks for a cached copy under this name (pip version with "_").
GET_PIP_STANDIN = '''"""Stand-in for get-pip.py: seed pip from ensurepip, then install what was asked."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''


@dataclass
class Tally:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool) -> None:
        (self.passed if ok else self.failed).append(name)


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def run(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> int:
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=cwd, env={**os.environ, **(env or {})})


def tracked_files() -> list[str]:
    out = subprocess.check_output(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT
    )
    return [p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def stage_sanity(tally: Tally) -> None:
    banner("ansible-test sanity")
    import ansible.release  # noqa: PLC0415 - only this stage needs ansible-core's version

    pip_version = "24_2" if ansible.release.__version__.startswith("2.19") else "25_0"
    cache = Path.home() / ".ansible/test/cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"get_pip_{pip_version}.py").write_text(GET_PIP_STANDIN)

    # ansible-test needs the collection at ansible_collections/<ns>/<name>; copy what git knows, to a
    # place outside this repository (inside it, ansible-test would ask git and find the copy ignored).
    base = Path(tempfile.gettempdir()) / "hymt-gpu_mesh-sanity"
    tree = base / "ansible_collections/hymt/gpu_mesh"
    shutil.rmtree(base, ignore_errors=True)
    for rel in tracked_files():
        if rel.startswith(SANITY_EXCLUDED):
            continue
        dest = tree / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    cmd = ["ansible-test", "sanity", "--venv", "--requirements", "--python", python, "--color", "no"]
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ran = []
    for line in proc.stdout:
        sys.stdout.write(line)
        match = re.match(r'Running sanity test "([\w-]+)"', line)
        if match:
            ran.append(match.group(1))
    rc = proc.wait()
    # ansible-test leaves one report per failed test in tests/output/bot.
    reports = [p.name for p in (tree / "tests/output/bot").glob("ansible-test-sanity-*.json")]
    for test in ran:
        tally.add(f"sanity:{test}", not any(r.startswith(f"ansible-test-sanity-{test}") for r in reports))
    if (rc != 0 and not reports) or not ran:
        tally.add("sanity:ansible-test", False)


def stage_lint(tally: Tally) -> None:
    banner("ansible-lint --profile production")
    tally.add("ansible-lint", run(["ansible-lint", "--profile", "production"]) == 0)


def stage_lab(tally: Tally) -> None:
    banner("lab: upstream binaries and the model server's venv")
    tally.add("lab:upstream-binaries", run([sys.executable, "-m", "lab.control_plane", "build"]) == 0)
    with tempfile.TemporaryDirectory() as scratch:
        tally.add("lab:model-server", run([sys.executable, "-m", "lab.model_server", "build", f"{scratch}/model"]) == 0)


def stage_unit(tally: Tally) -> None:
    banner("pytest tests/")
    report = BUILD / "pytest.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    rc = run([sys.executable, "-m", "pytest", "tests", f"--junitxml={report}"])
    if not report.exists():
        tally.add("pytest:run", False)
        return
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"pytest:{case.get('classname')}.{case.get('name')}"
        outcome = {child.tag for child in case}
        if "skipped" in outcome:
            continue  # a skipped test is neither evidence nor a failure; pytest prints it
        tally.add(name, not outcome & {"failure", "error"})
    if rc not in (0, 1):  # 1 = some test failed (counted above); others = pytest itself broke
        tally.add("pytest:run", False)


def scenarios() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def stage_molecule(tally: Tally) -> None:
    names = scenarios()
    if not names:
        return
    banner("lab images for Molecule")
    if run(["lab/images/build.sh", "bookworm", "trixie"]) != 0:
        tally.add("molecule:images", False)
        return
    for name in names:
        banner(f"molecule test -s {name}")
        start = time.monotonic()
        ok = run(["molecule", "test", "-s", name]) == 0
        print(f"scenario {name}: {'passed' if ok else 'FAILED'} in {time.monotonic() - start:.0f} s", flush=True)
        tally.add(f"molecule:{name}", ok)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=STAGES, action="append", help="run only this stage (repeatable)")
    args = parser.parse_args()
    tally = Tally()
    timings = []
    for stage in args.only or STAGES:
        start = time.monotonic()
        globals()[f"stage_{stage}"](tally)
        timings.append(f"{stage} {time.monotonic() - start:.0f} s")
    banner("summary")
    print("time: " + ", ".join(timings))
    for name in tally.failed:
        print(f"FAILED {name}")
    if not tally.passed and not tally.failed:
        print("no test ran")
        return 1
    print(f"{len(tally.passed)} passed, {len(tally.failed)} failed")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
