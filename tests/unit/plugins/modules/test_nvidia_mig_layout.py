# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of nvidia_mig_layout with a mocked run_command answering like the real H100 (MIG disabled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible.module_utils import basic
from ansible_collections.hymt.gpu_mesh.plugins.modules import nvidia_mig_layout

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi" / "h100-driver-580.159.04-fabric-mig"


def without_rc(name):
    return "".join(line + "\n" for line in (REAL / name).read_text().splitlines() if not line.startswith("rc="))


@pytest.fixture
def calls(monkeypatch):
    """The real capture's answers by command; every command run is recorded."""
    index, uuid, current, pending = [c.strip() for c in without_rc("mig-mode-before.csv").split(",")]
    answers = {"--query-gpu": "%s, NVIDIA H100 80GB HBM3, %s, %s, %s\n" % (index, uuid, current, pending),
               "--query-compute-apps": without_rc("query-compute-apps.csv")}
    seen = []

    def run_command(self, args, **kwargs):
        seen.append(args)
        key = args[1].split("=")[0]
        return (0, answers[key], "") if key in answers else (99, "", "not expected here")

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/nvidia-smi")
    return seen


@pytest.mark.parametrize("diff", [False, True])
def test_check_mode_on_the_real_h100(calls, run_module, diff):
    kind, result = run_module(nvidia_mig_layout.main, {
        "layout": {"all": ["3g.40gb", "2g.20gb", "2g.20gb"]}, "_ansible_check_mode": True, "_ansible_diff": diff})
    assert kind == "exit"
    assert result["changed"] is True
    assert result["commands"] == ["/usr/bin/nvidia-smi -i 0 -mig 1"]
    assert [c[1].split("=")[0] for c in calls] == ["--query-gpu", "--query-compute-apps"]
    assert ("diff" in result) is diff


def test_bad_layout_fails_with_the_reason(calls, run_module):
    kind, result = run_module(nvidia_mig_layout.main, {"layout": {"all": ["3g.40gb"] * 4}})
    assert kind == "fail"
    assert "nothing was changed" in result["msg"] and "at most 2 x 3g.40gb" in result["msg"]
    assert len(calls) == 1
