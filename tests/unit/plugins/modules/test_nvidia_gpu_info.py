# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of the nvidia_gpu_info module with a mocked run_command, on the real H100 capture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible.module_utils import basic
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu
from ansible_collections.hymt.gpu_mesh.plugins.modules import nvidia_gpu_info

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi"
H100 = FIXTURES / "h100-driver-580.159.04"


@pytest.fixture
def module_env(monkeypatch):
    """Mock the module's outside world; returns the list of commands run_command got."""
    calls = []
    state = {"rc": 0, "out": (H100 / "query-gpu-noheader.csv").read_text(), "err": "",
             "proc": (H100 / "proc-driver-nvidia-version.txt").read_text(), "bin": "/usr/bin/nvidia-smi"}

    def run_command(self, args, **kwargs):
        calls.append((args, kwargs))
        return state["rc"], state["out"], state["err"]

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: state["bin"])
    monkeypatch.setattr(nvidia_gpu_info, "read_proc_version", lambda: state["proc"])
    monkeypatch.setattr(nvidia_gpu, "cuda_driver_version", lambda loader=None: "13.0")
    # The unit-test host has no nvidia-ml-py; the NVML backend is covered in module_utils tests.
    monkeypatch.setattr(nvidia_gpu, "load_pynvml", lambda: None)
    return state, calls


@pytest.fixture(name="run_main")
def fixture_run_main(run_module):
    return lambda args: run_module(nvidia_gpu_info.main, args)


@pytest.mark.parametrize("check_mode", [False, True])
def test_main_real_h100(module_env, check_mode, run_main):
    calls = module_env[1]
    kind, result = run_main({"_ansible_check_mode": check_mode})
    root = ET.parse(H100 / "nvidia-smi-q.xml").getroot()
    assert kind == "exit"
    assert result["changed"] is False
    assert result["present"] is True
    assert result["driver_version"] == root.findtext("driver_version")
    assert result["gpu_count"] == int(root.findtext("attached_gpus"))
    assert result["gpus"][0]["uuid"] == root.findtext("gpu/uuid")
    # Facts and return values are the same dictionary.
    facts = result["ansible_facts"]["nvidia_gpu_info"]
    assert facts == {k: v for k, v in result.items() if k not in ("changed", "ansible_facts")}
    # One nvidia-smi run, with the documented command line, in the C locale.
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert args == ["/usr/bin/nvidia-smi"] + list(nvidia_gpu.NVIDIA_SMI_ARGS)
    assert kwargs["environ_update"]["LC_ALL"] == "C"


def test_main_documents_the_command_it_runs():
    command = " ".join(["nvidia-smi"] + list(nvidia_gpu.NVIDIA_SMI_ARGS))
    assert command in " ".join(nvidia_gpu_info.DOCUMENTATION.split())


def test_main_documents_every_fact():
    documented = set(nvidia_gpu_info.RETURN.split("\nansible_facts:", maxsplit=1)[0].split())
    for key in nvidia_gpu.empty_facts():
        assert key + ":" in documented, key


def test_main_without_nvidia_smi_is_not_a_failure(module_env, run_main):
    state, calls = module_env
    state["bin"] = None
    kind, result = run_main({})
    assert kind == "exit" and calls == []
    assert result["present"] is False and "nvidia-smi" in result["reason"]
    assert result["ansible_facts"]["nvidia_gpu_info"]["present"] is False


def test_main_module_not_loaded(module_env, run_main):
    state = module_env[0]
    rc, output = (FIXTURES / "handwritten" / "not-loaded.txt").read_text().split("\n", 1)
    state.update(rc=int(rc), out=output, proc=None)
    kind, result = run_main({})
    assert kind == "exit"
    assert result["present"] is False and result["reboot_required"] is True


def test_main_nvidia_smi_path_option(module_env, tmp_path, run_main):
    calls = module_env[1]
    binary = tmp_path / "nvidia-smi"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert run_main({"nvidia_smi_path": str(binary), "backend": "nvidia-smi"})[0] == "exit"
    assert calls[0][0][0] == str(binary)


def test_main_refuses_missing_nvidia_smi_path(module_env, tmp_path, run_main):
    calls = module_env[1]
    kind, result = run_main({"nvidia_smi_path": str(tmp_path / "absent")})
    assert kind == "fail" and "nvidia_smi_path" in result["msg"]
    assert calls == []


def test_main_nvml_backend_needs_the_binding(module_env, run_main):
    calls = module_env[1]
    kind, result = run_main({"backend": "nvml"})
    assert kind == "fail" and "nvidia-ml-py" in result["msg"]
    assert calls == []


def test_main_unreadable_output_fails(module_env, run_main):
    state = module_env[0]
    state["out"] = "0, NVIDIA H100 80GB HBM3\n"
    kind, result = run_main({})
    assert kind == "fail" and result["msg"].startswith("Failed to parse nvidia-smi output")
