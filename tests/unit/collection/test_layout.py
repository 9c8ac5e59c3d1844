"""The collection's contract with its users: what the built artifact ships, and role inputs that never drift.

Every role's meta/argument_specs.yml is the single source of truth for its inputs; defaults/main.yml must
declare exactly the same variables with the same default values (prometheus-community/ansible checks the same).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
NEVER_SHIPPED = ("lab/", "tests/", "molecule/", "bench/", ".venv/", ".collections/", ".build/", "docs/reports/")


def test_every_role_has_an_argument_spec():
    roles = sorted(p.parent for p in ROOT.glob("roles/*/tasks"))
    assert [r.name for r in roles] == [r.name for r in ROLES]


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_match_argument_specs(role: Path):
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]
    options = specs["main"].get("options", {})
    defaults_file = role / "defaults/main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}

    assert sorted(defaults) == sorted(k for k, v in options.items() if "default" in v), (
        "defaults/main.yml and meta/argument_specs.yml declare different variables with defaults"
    )
    for name, spec in options.items():
        assert name.startswith(f"{role.name}_"), f"{name} is not prefixed with the role name"
        assert spec.get("description"), f"{name} has no description"
        if "default" in spec:
            assert spec["default"] == defaults[name], f"{name}: argument_specs default differs from defaults/main.yml"


@pytest.mark.parametrize("defaults_file", sorted(ROOT.glob("roles/*/defaults/main.yml")), ids=lambda p: p.parts[-3])
def test_every_default_has_a_comment(defaults_file: Path):
    lines = defaults_file.read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")) and ":" in line and line != "---":
            previous = lines[i - 1] if i else ""
            assert previous.startswith("#"), f"{line.split(':')[0]} has no comment line above it"


def test_built_artifact_ships_no_lab_or_tests(tmp_path: Path):
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    subprocess.run(
        [str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    artifact = tmp_path / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert "playbooks/site.yml" in names and "meta/runtime.yml" in names
    shipped = [n for n in names if n.startswith(NEVER_SHIPPED) or n == "site.yml"]
    assert shipped == []
