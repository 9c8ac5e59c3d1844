# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/nvidia_mig.py: the profile table against a real H100's own, layouts, plans and runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_mig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi"
REAL = FIXTURES / "h100-driver-580.159.04-fabric-mig"
HANDWRITTEN = FIXTURES / "handwritten"
H100 = "NVIDIA H100 80GB HBM3"
SMI = "/usr/bin/nvidia-smi"


def read(path):
    return path.read_text()


# --- the profile table is the real GPU's -----------------------------------------------------

def test_h100_profile_table_matches_the_real_lgip_and_lgipp():
    # -lgip: "|   0  MIG 1g.10gb   19   7/7 ..." ; -lgipp: "GPU  0 Profile ID 19 Placements: {0,1,...}:1"
    listed = {}
    for m in re.finditer(r"MIG (\S+)\s+(\d+)\s+\d+/(\d+)", read(REAL / "mig-lgip.txt")):
        listed[m.group(2)] = (m.group(1), int(m.group(3)))
    placements = {}
    for m in re.finditer(r"Profile ID\s+(\d+) Placements?\s*: \{([\d,]+)\}:(\d+)", read(REAL / "mig-lgipp.txt")):
        placements[m.group(1)] = (tuple(int(s) for s in m.group(2).split(",")), int(m.group(3)))
    assert len(listed) == len(placements) == 7
    table = nvidia_mig.profiles_of(H100)
    assert sorted(table) == sorted(name for name, _count in listed.values())
    for profile_id, (name, count) in listed.items():
        _compute, size, starts, available = nvidia_mig._SHAPES[table[name]]
        assert (starts, size, available) == (placements[profile_id][0], placements[profile_id][1], count), name


@pytest.mark.parametrize("model, profile", [
    ("NVIDIA A100-SXM4-40GB", "3g.20gb"), ("NVIDIA A100 80GB PCIe", "1g.10gb+me"),
    ("NVIDIA H100 NVL", "7g.94gb"), ("NVIDIA H200", "1g.18gb"), ("NVIDIA H200", "4g.71gb"),
])
def test_other_models_name_their_profiles_by_memory(model, profile):
    assert profile in nvidia_mig.profiles_of(model)


# --- layouts a GPU can or cannot hold --------------------------------------------------------

@pytest.mark.parametrize("profiles, problem", [
    (["7g.80gb"], None),
    (["3g.40gb", "3g.40gb"], None),
    (["4g.40gb", "3g.40gb"], None),
    (["3g.40gb", "2g.20gb", "2g.20gb"], None),
    (["2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"], None),
    (["1g.10gb"] * 7, None),
    (["1g.20gb"] * 4, None),
    (["1g.10gb+me", "1g.10gb"] + ["1g.10gb"] * 5, None),
    ([], None),
    (["3g.40gb"] * 4, "holds at most 2 x 3g.40gb, 4 asked"),
    (["1g.10gb"] * 8, "holds at most 7 x 1g.10gb, 8 asked"),
    (["4g.40gb", "3g.40gb", "1g.10gb"], "need 8 compute slices"),
    (["3g.40gb", "3g.40gb", "1g.10gb"], "need 9 memory slices"),
    (["1g.20gb"] * 4 + ["1g.10gb"], "need 9 memory slices"),
    (["4g.40gb", "2g.20gb", "2g.20gb"], "need 8 compute slices"),
    (["1g.10gb+me", "1g.10gb+me"], "at most 1 x 1g.10gb+me"),
    (["3g.20gb"], "has no profile 3g.20gb"),
    # 7 compute and 8 memory slices, but a 4g starts only at slice 0 and a 3g only at 0 or 4:
    (["4g.40gb", "2g.20gb", "1g.10gb"], None),
    (["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"], None),
])
def test_check_profiles_h100(profiles, problem):
    problems = nvidia_mig.check_profiles(H100, profiles)
    if problem is None:
        assert problems == []
        placed = nvidia_mig.place(profiles, nvidia_mig.profiles_of(H100))
        assert sorted(name for name, _start in placed) == sorted(profiles)
    else:
        assert any(problem in p for p in problems), problems


def test_placement_that_only_a_search_finds():
    # First fit in the order given would put 1g.20gb at 0 and leave no start for the 4g.
    placed = nvidia_mig.place(["1g.20gb", "1g.20gb", "4g.40gb"], nvidia_mig.profiles_of(H100))
    assert placed == [("4g.40gb", 0), ("1g.20gb", 4), ("1g.20gb", 6)]


def test_unknown_model_is_refused():
    assert "has no MIG profile table here" in nvidia_mig.check_profiles("Tesla T4", ["1g.5gb"])[0]


# --- reading nvidia-smi ------------------------------------------------------------------------

def test_parse_real_gpu_and_mig_disabled_lists():
    line = read(REAL / "mig-mode-before.csv").splitlines()[0]
    index, uuid, current, pending = [c.strip() for c in line.split(",")]
    gpus = nvidia_mig.parse_gpus("%s, %s, %s, %s, %s" % (index, H100, uuid, current, pending))
    assert gpus == [{"index": 0, "name": H100, "uuid": uuid, "mig_mode_current": False,
                     "mig_mode_pending": False, "mig_capable": True}]
    assert nvidia_mig.parse_gpu_instances(read(REAL / "mig-lgi.txt")) == {}
    assert nvidia_mig.parse_compute_instances(read(REAL / "mig-lci.txt")) == {}
    assert nvidia_mig.parse_apps(read(REAL / "query-compute-apps.csv")) == {}


def test_parse_instances_and_completeness():
    gis = nvidia_mig.parse_gpu_instances(read(HANDWRITTEN / "mig-h100-lgi.txt"))
    cis = nvidia_mig.parse_compute_instances(read(HANDWRITTEN / "mig-h100-lci.txt"))
    assert [(g["profile"], g["id"], g["start"]) for g in gis[0]] == [("1g.10gb", 9, 6), ("3g.40gb", 2, 0)]
    assert cis[(1, 1)] == ["1c.3g.40gb"]
    gpu0, gpu1 = ({"index": i} for i in (0, 1))
    assert nvidia_mig.instances_of(gpu0, gis, cis) == (["3g.40gb", "1g.10gb"], True)
    # GPU 1's second 3g.40gb holds a 1-slice compute instance, not one spanning it.
    assert nvidia_mig.instances_of(gpu1, gis, cis) == (["3g.40gb", "3g.40gb"], False)


def test_parse_gpus_not_capable_and_bad_line():
    assert nvidia_mig.parse_gpus("0, Tesla T4, GPU-x, [N/A], [N/A]")[0]["mig_capable"] is False
    with pytest.raises(nvidia_mig.MigLayoutError, match="Failed to read nvidia-smi's GPU line"):
        nvidia_mig.parse_gpus("0, only three, cells")


@pytest.mark.parametrize("layout, expected", [
    ({"all": ["7g.80gb"]}, {0: ["7g.80gb"], 1: ["7g.80gb"]}),
    ({"all": ["7g.80gb"], "1": []}, {0: ["7g.80gb"], 1: []}),
    ({1: ["1g.10gb"]}, {1: ["1g.10gb"]}),
    ({}, {}),
])
def test_desired_by_index(layout, expected):
    assert nvidia_mig.desired_by_index(layout, {0, 1}) == expected


@pytest.mark.parametrize("layout, message", [
    ({"2": []}, "names GPU 2, but the host has GPUs \\[0, 1\\]"),
    ({"gpu0": []}, "neither 'all' nor a GPU index"),
    ({"all": "7g.80gb"}, "must map to a list of profile names"),
])
def test_desired_by_index_refuses(layout, message):
    with pytest.raises(nvidia_mig.MigLayoutError, match=message):
        nvidia_mig.desired_by_index(layout, {0, 1})


@pytest.mark.parametrize("final, strategy", [
    ({0: None, 1: None}, "none"),
    ({0: None}, "none"),
    ({0: ["1g.10gb"] * 7, 1: ["1g.10gb"] * 7}, "single"),
    ({0: ["3g.40gb", "3g.40gb"]}, "single"),
    ({0: ["3g.40gb", "3g.40gb"], 1: None}, "mixed"),
    ({0: ["3g.40gb", "2g.20gb"], 1: ["3g.40gb", "2g.20gb"]}, "mixed"),
    ({0: ["7g.80gb"], 1: ["1g.10gb"]}, "mixed"),
])
def test_device_plugin_strategy(final, strategy):
    assert nvidia_mig.device_plugin_strategy(final) == strategy


# --- runs against a fake nvidia-smi -------------------------------------------------------------

class FakeSmi:
    """nvidia-smi over a dict of GPUs: answers the reads this module makes and records every command."""

    def __init__(self, gpus, apps="", mode_needs_reset=False):
        self.gpus, self.apps, self.mode_needs_reset, self.calls = gpus, apps, mode_needs_reset, []

    def mutating(self):
        return [c for c in self.calls if "-mig" in c or any(a in c for a in ("-cgi", "-dgi", "-dci"))]

    def __call__(self, args):
        self.calls.append(args)
        rest = args[1:]
        if rest[0].startswith("--query-gpu"):
            modes = {i: ["Enabled" if g[k] else "Disabled" for k in ("current", "pending")] for i, g in self.gpus.items()}
            return 0, "".join("%d, %s, GPU-%d, %s, %s\n" % (i, H100, i, modes[i][0], modes[i][1])
                              for i in sorted(self.gpus)), ""
        if rest[0].startswith("--query-compute-apps"):
            return 0, self.apps, ""
        if rest[:2] == ["mig", "-lgi"]:
            return 0, "".join("|   %d  MIG %s  9  %d  %d:1 |\n" % (i, p, n, s) for i, g in self.gpus.items()
                              for n, (p, s) in enumerate(g["instances"])), ""
        if rest[:2] == ["mig", "-lci"]:
            return 0, "".join("|   %d  %d  MIG %s  0  0  0:1 |\n" % (i, n, p) for i, g in self.gpus.items()
                              for n, (p, _s) in enumerate(g["instances"])), ""
        gpu = self.gpus[int(rest[rest.index("-i") + 1])]
        if "-mig" in rest:
            gpu["pending"] = rest[-1] == "1"
            if not self.mode_needs_reset:
                gpu["current"] = gpu["pending"]
        elif "-dgi" in rest:
            gpu["instances"] = []
        elif "-cgi" in rest:
            gpu["instances"] = [(p.split(":")[0], int(p.split(":")[1])) for p in rest[rest.index("-cgi") + 1].split(",")]
        return 0, "", ""


def gpu(current=False, pending=None, instances=()):
    return {"current": current, "pending": current if pending is None else pending, "instances": list(instances)}


def test_check_mode_changes_nothing_and_lists_the_commands():
    smi = FakeSmi({0: gpu()})
    result = nvidia_mig.apply_layout(smi, SMI, {"all": ["3g.40gb", "2g.20gb", "2g.20gb"]}, check_mode=True)
    assert smi.mutating() == []
    assert result["changed"] is True
    assert result["commands"] == [SMI + " -i 0 -mig 1"]
    assert result["mode_change_gpus"] == [0]
    assert result["diff"] == {"before": "GPU 0: MIG disabled\n", "after": "GPU 0: 2g.20gb,2g.20gb,3g.40gb\n"}
    assert result["device_plugin_mig_strategy"] == "mixed"


def test_apply_enables_mig_and_creates_in_the_same_run_when_no_reset_is_needed():
    smi = FakeSmi({0: gpu(), 1: gpu()})
    result = nvidia_mig.apply_layout(smi, SMI, {"all": ["1g.10gb"] * 7}, check_mode=False)
    assert [" ".join(c[1:]) for c in smi.mutating()] == [
        "-i 0 -mig 1", "-i 1 -mig 1",
        "mig -i 0 -cgi " + ",".join("1g.10gb:%d" % s for s in range(7)) + " -C",
        "mig -i 1 -cgi " + ",".join("1g.10gb:%d" % s for s in range(7)) + " -C"]
    assert result["changed"] is True and result["reset_required"] is False
    assert result["device_plugin_mig_strategy"] == "single"
    again = nvidia_mig.apply_layout(smi, SMI, {"all": ["1g.10gb"] * 7}, check_mode=False)
    assert again["changed"] is False and again["commands"] == []


def test_apply_reports_a_pending_mode_and_never_resets():
    smi = FakeSmi({0: gpu()}, mode_needs_reset=True)
    result = nvidia_mig.apply_layout(smi, SMI, {"0": ["7g.80gb"]}, check_mode=False)
    assert [c[1:] for c in smi.mutating()] == [["-i", "0", "-mig", "1"]]
    assert not any("-r" in c or "--gpu-reset" in c for c in smi.calls)
    assert result["reset_required"] is True and result["reset_required_gpus"] == [0]
    assert result["gpus"][0]["actions"] == ["enable_mig", "create_instances_after_mode_change"]
    # The next run, still before the reset, has nothing to do and says so again.
    again = nvidia_mig.apply_layout(smi, SMI, {"0": ["7g.80gb"]}, check_mode=False)
    assert again["changed"] is False and again["reset_required"] is True


def test_a_different_layout_is_destroyed_and_recreated():
    smi = FakeSmi({0: gpu(True, instances=[("3g.40gb", 0), ("3g.40gb", 4)])})
    nvidia_mig.apply_layout(smi, SMI, {"all": ["4g.40gb", "3g.40gb"]}, check_mode=False)
    assert [" ".join(c[1:]) for c in smi.mutating()] == [
        "mig -i 0 -dci", "mig -i 0 -dgi", "mig -i 0 -cgi 4g.40gb:0,3g.40gb:4 -C"]


def test_disable_destroys_instances_then_the_mode():
    smi = FakeSmi({0: gpu(True, instances=[("7g.80gb", 0)])})
    result = nvidia_mig.apply_layout(smi, SMI, {"all": []}, check_mode=False)
    assert [" ".join(c[1:]) for c in smi.mutating()] == ["mig -i 0 -dci", "mig -i 0 -dgi", "-i 0 -mig 0"]
    assert result["device_plugin_mig_strategy"] == "none"


def test_bad_layout_is_refused_before_any_command():
    smi = FakeSmi({0: gpu(True, instances=[("7g.80gb", 0)])})
    with pytest.raises(nvidia_mig.MigLayoutError, match="nothing was changed: GPU 0: .*at most 2 x 3g.40gb"):
        nvidia_mig.apply_layout(smi, SMI, {"all": ["3g.40gb"] * 4}, check_mode=False)
    assert smi.mutating() == []


def test_a_gpu_with_processes_is_not_touched():
    smi = FakeSmi({0: gpu(), 1: gpu()}, apps="GPU-1, 4242, python3\n")
    with pytest.raises(nvidia_mig.MigLayoutError, match="GPU 1 runs 4242 python3. Drain the node"):
        nvidia_mig.apply_layout(smi, SMI, {"all": ["7g.80gb"]}, check_mode=False)
    assert smi.mutating() == []


def test_untouched_gpus_count_for_the_strategy():
    smi = FakeSmi({0: gpu(True, instances=[("7g.80gb", 0)]), 1: gpu()})
    result = nvidia_mig.apply_layout(smi, SMI, {"0": ["7g.80gb"]}, check_mode=True)
    assert result["changed"] is False
    assert [g["managed"] for g in result["gpus"]] == [True, False]
    assert result["device_plugin_mig_strategy"] == "mixed"
    # No process list is read when nothing changes.
    assert not any(c[1].startswith("--query-compute-apps") for c in smi.calls)
