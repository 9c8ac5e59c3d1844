# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of the nvidia_host_verify module with a mocked run_command, on the real H100 captures.

Named _module: tests/unit/plugins/module_utils/test_nvidia_host_verify.py holds that basename, and pytest
(rootdir import mode, no __init__.py) cannot import two test files of one basename in one run.

nvidia-smi's answers are the real captures (the facts query of tests/unit/fixtures/nvidia-smi/
h100-driver-580.159.04, and its real failure and invalid-field texts); the ECC query's line is built
from the same card's `nvidia-smi -q -x` capture by the module_utils tests' helper. Files and the
package list come from the module_utils tests' HAND-WRITTEN inputs.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

from ansible.module_utils import basic
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_host_verify as hv
from ansible_collections.hymt.gpu_mesh.plugins.modules import nvidia_host_verify

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi"


def _load_inputs():
    """The module_utils tests' inputs (captures and hand-written lists), loaded under a name of its own:
    the test directories are not packages, and two test files of one basename cannot both be imported."""
    path = Path(__file__).resolve().parents[1] / "module_utils" / "test_nvidia_host_verify.py"
    spec = importlib.util.spec_from_file_location("nvidia_host_verify_test_inputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


inputs = _load_inputs()
SMI = "/usr/bin/nvidia-smi"


@pytest.fixture
def module_env(monkeypatch, tmp_path):
    """Mock the module's outside world; returns (state, calls)."""
    calls = []
    pci = tmp_path / "pci"
    pci.mkdir()
    state = {
        "answers": {
            tuple(nvidia_gpu.NVIDIA_SMI_ARGS): (0, inputs.FACTS_LINE + "\n", ""),
            tuple(hv.ECC_SMI_ARGS): (0, inputs.ECC_LINE + "\n", ""),
            tuple(hv.DPKG_QUERY[1:]): (0, inputs.DPKG_HELD, ""),
        },
        "bins": {"nvidia-smi": SMI, "dpkg-query": "/usr/bin/dpkg-query"},
        "files": {hv.OS_RELEASE: inputs.OS_RELEASE_DEBIAN, hv.APT_EXTENDED_STATES: inputs.EXTENDED_STATES,
                  nvidia_gpu.PROC_VERSION_PATH: inputs.PROC},
        "pci": inputs.sysfs(FIXTURES / "h100-driver-580.159.04-fabric-mig" / "sysfs-pci-devices.txt", pci),
    }

    def run_command(self, args, **kwargs):
        calls.append((args, kwargs))
        return state["answers"][tuple(args[1:])]

    def read_text(path):
        return state["files"].get(path)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: state["bins"].get(name))
    monkeypatch.setattr(hv, "read_text", read_text)
    monkeypatch.setattr(nvidia_gpu, "cuda_driver_version", lambda loader=None: "13.0")
    return state, calls


@pytest.fixture(name="run_main")
def fixture_run_main(run_module, module_env):
    state = module_env[0]

    def run(args):
        args = dict(args)
        args.setdefault("pci_devices_dir", state["pci"])
        return run_module(nvidia_host_verify.main, args)

    return run


@pytest.mark.parametrize("check_mode", [False, True])
def test_main_real_h100(module_env, check_mode, run_main):
    calls = module_env[1]
    kind, result = run_main({"_ansible_check_mode": check_mode, "node": "gpu-node-01",
                             "driver_version": inputs.DRIVER, "gpu_models": ["H100"]})
    assert kind == "exit"
    assert result["changed"] is False
    assert [c["id"] for c in result["checks"]] == inputs.CHECK_IDS
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    assert statuses.pop("host.container_runtime") == statuses.pop("host.toolkit_binaries") == "not_checked"
    assert set(statuses.values()) == {"pass"}
    assert result["host"]["driver_version"] == inputs.DRIVER and result["host"]["cuda_version"] == "13.0"
    assert result["host"]["node"] == "gpu-node-01"
    assert result["nvidia_gpu_info"]["gpus"][0]["uuid"] == inputs.XML_GPU.findtext("uuid")
    # nvidia-smi twice (facts, ECC) and one package query, all in the C locale; no more.
    assert [args for args, _kwargs in calls] == [
        [SMI] + list(nvidia_gpu.NVIDIA_SMI_ARGS), [SMI] + list(hv.ECC_SMI_ARGS),
        ["/usr/bin/dpkg-query"] + list(hv.DPKG_QUERY[1:])]
    assert all(kwargs["environ_update"]["LC_ALL"] == "C" for _args, kwargs in calls)


def test_main_failed_checks_do_not_fail_the_task(module_env, run_main):
    state, calls = module_env
    rc, output = (FIXTURES / "handwritten" / "mismatch.txt").read_text().split("\n", 1)
    state["answers"][tuple(nvidia_gpu.NVIDIA_SMI_ARGS)] = (int(rc), output, "")
    state["files"][nvidia_gpu.PROC_VERSION_PATH] = inputs.PROC_PROPRIETARY
    kind, result = run_main({"node": "gpu-node-01", "inventory_host": "gpu-node-01.example.internal",
                             "driver_version": inputs.DRIVER})
    assert kind == "exit" and result["changed"] is False
    loaded = result["checks"][0]
    assert loaded["id"] == "host.driver_loaded" and loaded["status"] == "fail"
    assert "ansible-playbook hymt.gpu_mesh.driver_upgrade --limit gpu-node-01.example.internal" in loaded["remedy"]
    assert result["host"]["verdict"] == "fail"
    assert result["nvidia_gpu_info"]["driver_mismatch"] is True
    # No ECC query without a driver that answers: one nvidia-smi run, one package query.
    assert [args[0] for args, _kwargs in calls] == [SMI, "/usr/bin/dpkg-query"]


def test_main_container_runtime_suboptions(module_env, run_main, tmp_path):
    state, calls = module_env
    runtime = tmp_path / "nvidia-container-runtime"
    runtime.write_text("#!/bin/sh\n")
    runtime.chmod(0o755)
    state["bins"]["nvidia-ctk"] = str(runtime)
    state["files"]["/etc/docker/daemon.json"] = '{"runtimes": {"nvidia": {"path": "%s"}}}' % runtime
    kind, result = run_main({"container_runtime": {"runtimes": ["docker"], "runtime_path": str(runtime)},
                             "check_holds": False})
    assert kind == "exit"
    checks = {c["id"]: c for c in result["checks"]}
    assert checks["host.container_runtime"]["status"] == "pass", checks["host.container_runtime"]
    assert checks["host.toolkit_binaries"]["status"] == "pass"
    assert checks["host.package_holds"]["status"] == "not_checked"
    # Docker needs no containerd version and holds are not checked: no package query.
    assert len(calls) == 2


@pytest.mark.parametrize("args, message", [
    ({"driver_version": "580"}, "driver_version must look like"),
    ({"gpu_count": 0}, "gpu_count must be at least 1"),
    ({"mig_mode": "mixed"}, "value of mig_mode must be one of"),
    ({"container_runtime": {"runtimes": ["podman"]}}, "runtimes"),
    ({"container_runtime": {"runtimes": ["docker"], "runtime_name": "nvidia runtime"}}, "runtime_name"),
    ({"nvidia_smi_path": "/nonexistent/nvidia-smi"}, "nvidia_smi_path /nonexistent/nvidia-smi is not an executable"),
])
def test_main_bad_arguments_fail_before_any_command(module_env, run_main, args, message):
    calls = module_env[1]
    kind, result = run_main(args)
    assert kind == "fail" and message in result["msg"]
    assert calls == []


def test_main_documents_the_commands_it_runs():
    documentation = " ".join(nvidia_host_verify.DOCUMENTATION.split())
    assert " ".join(["nvidia-smi"] + list(nvidia_gpu.NVIDIA_SMI_ARGS)) in documentation
    # The ECC query's fields are listed one by one (the line would be too long), in the order asked.
    assert "with the fields, in this order: %s." % ", ".join(hv.ECC_FIELDS) in documentation
    assert "--query-gpu=<fields> %s" % hv.ECC_SMI_ARGS[1] in documentation
    # In YAML, the documented \\n reads as the \n that dpkg-query and rpm expand.
    assert "'%s'" % hv.DPKG_QUERY[-1].replace("\\", "\\\\") in documentation
    assert "'%s'" % hv.RPM_QUERY[-1].replace("\\", "\\\\") in documentation


def test_main_documents_every_check_and_option():
    documentation = nvidia_host_verify.DOCUMENTATION
    for check_id in inputs.CHECK_IDS:
        assert "C(%s)" % check_id in documentation, check_id
    for option in nvidia_host_verify.argspec():
        assert "\n  %s:\n" % option in documentation, option
    for option in hv.container_runtime_options():
        assert "\n      %s:\n" % option in documentation, option


def test_main_documents_every_summary_key(module_env, run_main):
    result = run_main({})[1]
    returned = nvidia_host_verify.RETURN
    for key in result["host"]:
        assert "\n    %s:\n" % key in returned, key
    for key in result["checks"][0]:
        assert "\n    %s:\n" % key in returned, key


def test_main_argspec_is_copied_not_shared():
    # AnsibleModule fills defaults into the suboption specs it gets; a fresh dict per call keeps runs apart.
    first = nvidia_host_verify.argspec()
    snapshot = copy.deepcopy(first)
    first["container_runtime"]["options"]["runtimes"]["default"].append("docker")
    assert nvidia_host_verify.argspec() == snapshot
