# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/nvidia_host_verify.py: every host check, on the real H100 captures where they apply.

The host's answers come from the real captures of tests/unit/fixtures/nvidia-smi (the facts query,
/proc/driver/nvidia/version, the sysfs PCI listing, nvidia-smi's real failure texts) and the real
containerd files of tests/unit/fixtures/container_runtime. No CSV capture of the ECC query exists: its
line is BUILT here from the real `nvidia-smi -q -x` capture of the same card (ecc_line_from_xml), and
variants edit one column of it. Package lists, extended_states, versionlock.list and os-release are
HAND-WRITTEN below, in the formats dpkg-query, apt, rpm and dnf write, and say so. Expected values are
read from the captures or from the inputs a test writes, never from the module's own output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import container_runtime, fleet_checks, nvidia_gpu
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_host_verify as hv

UNIT = Path(__file__).resolve().parents[2]
FIXTURES = UNIT / "fixtures" / "nvidia-smi"
H100 = FIXTURES / "h100-driver-580.159.04"
CARD2 = FIXTURES / "h100-driver-580.159.04-card2"
FABRIC_MIG = FIXTURES / "h100-driver-580.159.04-fabric-mig"
HANDWRITTEN = FIXTURES / "handwritten"
CONTAINERD = UNIT / "fixtures" / "container_runtime"
ROOT = UNIT.parents[1]

XML = ET.parse(H100 / "nvidia-smi-q.xml").getroot()
XML_GPU = XML.find("gpu")
DRIVER = XML.findtext("driver_version")
MODEL = XML_GPU.findtext("product_name")
BUS_ID = XML_GPU.findtext("pci/pci_bus_id")
FACTS_LINE = (H100 / "query-gpu-noheader.csv").read_text().strip()
PROC = (H100 / "proc-driver-nvidia-version.txt").read_text()
PROC_PROPRIETARY = (HANDWRITTEN / "proc-version-proprietary.txt").read_text()
PROPRIETARY_VERSION = PROC_PROPRIETARY.split("Kernel Module", 1)[1].split()[0]
NODE = "gpu-node-01"
HOST = "gpu-node-01.example.internal"
CHECK_IDS = ["host.driver_loaded", "host.driver_pinned", "host.gpu_count", "host.gpu_models", "host.mig_mode",
             "host.persistence_mode", "host.ecc", "host.memory_remap", "host.container_runtime",
             "host.toolkit_binaries", "host.package_holds"]


# --- inputs -----------------------------------------------------------------------------------------

def _xml_number(path):
    text = XML_GPU.findtext(path)
    return "[N/A]" if text in (None, "N/A") else text


def _xml_sum(*paths):
    values = [XML_GPU.findtext(p) for p in paths]
    return "[N/A]" if "N/A" in values else str(sum(int(v) for v in values))


def _xml_yes_no(path):
    return {"No": "No", "Yes": "Yes"}.get(XML_GPU.findtext(path), "[N/A]")


def ecc_line_from_xml():
    """The ECC query's line for the captured card, built from its `nvidia-smi -q -x` values (N/A -> [N/A])."""
    values = {
        "index": XML_GPU.findtext("minor_number"),
        "uuid": XML_GPU.findtext("uuid"),
        "ecc.errors.uncorrected.volatile.total": _xml_sum(
            "ecc_errors/volatile/sram_uncorrectable_parity", "ecc_errors/volatile/sram_uncorrectable_secded",
            "ecc_errors/volatile/dram_uncorrectable"),
        "ecc.errors.uncorrected.aggregate.total": _xml_sum(
            "ecc_errors/aggregate/sram_uncorrectable_parity", "ecc_errors/aggregate/sram_uncorrectable_secded",
            "ecc_errors/aggregate/dram_uncorrectable"),
        "ecc.errors.corrected.volatile.total": _xml_sum(
            "ecc_errors/volatile/sram_correctable", "ecc_errors/volatile/dram_correctable"),
        "retired_pages.pending": _xml_yes_no("retired_pages/pending_retirement"),
        "retired_pages.double_bit.count": _xml_number("retired_pages/double_bit_retirement/retired_count"),
        "remapped_rows.pending": _xml_yes_no("remapped_rows/remapped_row_pending"),
        "remapped_rows.failure": _xml_yes_no("remapped_rows/remapped_row_failure"),
        "remapped_rows.uncorrectable": _xml_number("remapped_rows/remapped_row_unc"),
        "remapped_rows.correctable": _xml_number("remapped_rows/remapped_row_corr"),
    }
    return ", ".join(values[field] for field in hv.ECC_FIELDS)


ECC_LINE = ecc_line_from_xml()


def edit(line, fields, field, value):
    cells = [c.strip() for c in line.split(",")]
    cells[fields.index(field)] = value
    return ", ".join(cells)


def facts_with(field, value, line=FACTS_LINE):
    return edit(line, nvidia_gpu.QUERY_FIELDS, field, value)


def ecc_with(*pairs, line=ECC_LINE):
    for field, value in zip(pairs[::2], pairs[1::2]):
        line = edit(line, hv.ECC_FIELDS, field, value)
    return line


def handwritten_failure(name):
    rc, output = (HANDWRITTEN / name).read_text().split("\n", 1)
    return int(rc), output


def sysfs(path, root):
    """A /sys/bus/pci/devices tree from a '<address> <vendor> <device> <class>' capture."""
    for line in path.read_text().splitlines():
        if line.startswith("rc="):
            continue
        address, vendor, device, klass = line.split()
        (root / address).mkdir(parents=True)
        for name, value in (("vendor", vendor), ("device", device), ("class", klass)):
            (root / address / name).write_text(value + "\n")
    return str(root)


# HAND-WRITTEN: dpkg-query lines (DPKG_QUERY's format) of a Debian host that the nvidia_driver role set up from
# NVIDIA's CUDA repository (package names of roles/nvidia_driver/vars/Debian.yml, the lab catalogue's versions),
# plus one automatically installed dependency, one package removed with its configuration kept, and containerd.
DPKG_HELD = """\
install installed base-files amd64 12.4+deb12u11
hold installed nvidia-open amd64 580.159.04-1
hold installed nvidia-kernel-open-dkms amd64 580.159.04-1
hold installed nvidia-driver-cuda amd64 580.159.04-1
hold installed nvidia-persistenced amd64 580.159.04-1
install installed libnvidia-ml1 amd64 580.159.04-1
deinstall config-files nvidia-kernel-dkms amd64 580.95.05-1
install installed containerd amd64 1.6.20~ds1-1+deb12u3
install installed nvidia-container-toolkit amd64 1.20.0-1
"""
# HAND-WRITTEN: apt's extended_states marking that dependency automatic (the format apt writes).
EXTENDED_STATES = """\
Package: libnvidia-ml1
Architecture: amd64
Auto-Installed: 1

Package: nvidia-container-toolkit-base
Architecture: amd64
Auto-Installed: 1
"""
# HAND-WRITTEN: /etc/os-release of Debian 12 as Debian ships it.
OS_RELEASE_DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
OS_RELEASE_RHEL = 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.6"\nID="rhel"\nID_LIKE="fedora"\n'

# HAND-WRITTEN: RPM_QUERY lines of a RHEL 9 host set up from NVIDIA's repository (names of
# roles/nvidia_driver/vars/RedHat.yml); nvidia-driver requires its libraries by their arch-qualified name.
RPM_LIST = """\
bash (none) 5.1.8 9.el9 x86_64 requires:libc.so.6()(64bit),/usr/bin/sh, provides:bash,bash(x86-64),
nvidia-driver 3 580.159.04 1.el9 x86_64 requires:nvidia-driver-libs(x86-64),nvidia-kmod-common,/bin/sh, provides:nvidia-driver,nvidia-driver(x86-64),
nvidia-driver-libs 3 580.159.04 1.el9 x86_64 requires:libc.so.6()(64bit), provides:nvidia-driver-libs,nvidia-driver-libs(x86-64),libnvidia-ml.so.1()(64bit),
nvidia-kmod-common 3 580.159.04 1.el9 noarch requires:/bin/sh, provides:nvidia-kmod-common,
kmod-nvidia-open-dkms 3 580.159.04 1.el9 x86_64 requires:dkms,nvidia-kmod-common, provides:kmod-nvidia-open-dkms,nvidia-kmod,
nvidia-driver-cuda 3 580.159.04 1.el9 x86_64 requires:nvidia-driver-cuda-libs(x86-64), provides:nvidia-driver-cuda,
nvidia-driver-cuda-libs 3 580.159.04 1.el9 x86_64 requires:, provides:nvidia-driver-cuda-libs,nvidia-driver-cuda-libs(x86-64),
nvidia-persistenced 3 580.159.04 1.el9 x86_64 requires:, provides:nvidia-persistenced,
"""
# HAND-WRITTEN: versionlock.list as `dnf versionlock add` writes it for the four packages the role locks.
VERSIONLOCK = """\
# Added lock on Tue Dec  2 10:00:00 2026
nvidia-driver-3:580.159.04-1.el9.*
kmod-nvidia-open-dkms-3:580.159.04-1.el9.*
nvidia-driver-cuda-3:580.159.04-1.el9.*
nvidia-persistenced-3:580.159.04-1.el9.*
"""


class Host:
    """A managed host: commands answered from captures, files from a dict; every command is recorded."""

    def __init__(self, tmp_path, facts=FACTS_LINE + "\n", ecc=ECC_LINE + "\n", smi_rc=0, ecc_rc=0, proc=PROC,
                 pci=FABRIC_MIG / "sysfs-pci-devices.txt", family="Debian", packages=None, package_rc=0):
        self.calls = []
        self.answers = {"facts": (smi_rc, facts, ""), "ecc": (ecc_rc, ecc, "")}
        self.bins = {"nvidia-smi": "/usr/bin/nvidia-smi"}
        if family == "Debian":
            self.bins["dpkg-query"] = "/usr/bin/dpkg-query"
            self.answers["package"] = (package_rc, DPKG_HELD if packages is None else packages, "")
            self.files = {hv.OS_RELEASE: OS_RELEASE_DEBIAN, hv.APT_EXTENDED_STATES: EXTENDED_STATES}
        elif family == "RedHat":
            self.bins["rpm"] = "/usr/bin/rpm"
            self.answers["package"] = (package_rc, RPM_LIST if packages is None else packages, "")
            self.files = {hv.OS_RELEASE: OS_RELEASE_RHEL, hv.DNF_VERSIONLOCK_LIST: VERSIONLOCK}
        else:
            self.files = {}
        self.files[nvidia_gpu.PROC_VERSION_PATH] = proc
        pci_root = tmp_path / "pci"
        pci_root.mkdir()
        self.pci_dir = sysfs(pci, pci_root) if pci else str(pci_root)
        self.tmp_path = tmp_path

    def run(self, args):
        self.calls.append(list(args))
        if args[1:] == list(nvidia_gpu.NVIDIA_SMI_ARGS):
            return self.answers["facts"]
        if args[1:] == list(hv.ECC_SMI_ARGS):
            return self.answers["ecc"]
        if args[1:] in (list(hv.DPKG_QUERY[1:]), list(hv.RPM_QUERY[1:])):
            return self.answers["package"]
        raise AssertionError("unexpected command %r" % (args,))

    def which(self, name):
        return self.bins.get(name)

    def read(self, path):
        value = self.files.get(path)
        if isinstance(value, Exception):
            raise value
        return value

    def executable(self, name):
        path = self.tmp_path / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return str(path)

    def verify(self, **params):
        params.setdefault("node", NODE)
        params.setdefault("inventory_host", HOST)
        params.setdefault("pci_devices_dir", self.pci_dir)
        return hv.verify(params, self.run, self.which, read_file=self.read, cuda_loader=no_libcuda,
                         hostname=HOST, kernel="6.1.0-41-amd64")


def no_libcuda(name):
    raise OSError("%s: cannot open shared object file" % name)


def by_id(result):
    return {c["id"]: c for c in result["checks"]}


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


# --- the query and the captures ---------------------------------------------------------------------

def test_ecc_fields_exist_in_driver_580():
    documented = set(re.findall(r'^"([^"]+)"', (CARD2 / "help-query-gpu.txt").read_text(), re.MULTILINE))
    assert set(hv.ECC_FIELDS) <= documented
    # H100 reports row remapping through --query-gpu, so no --query-remapped-rows call is needed.
    assert {"remapped_rows.pending", "remapped_rows.failure"} <= set(hv.ECC_FIELDS)
    assert hv.ECC_SMI_ARGS[1] == "--format=csv,noheader,nounits"


def test_ecc_line_from_the_real_h100():
    gpus = hv.parse_ecc_csv(ECC_LINE)
    gpu = gpus[int(XML_GPU.findtext("minor_number"))]
    assert gpu["uuid"] == XML_GPU.findtext("uuid")
    assert gpu["uncorrected_volatile"] == 0 and gpu["uncorrected_aggregate"] == 0
    # The H100 capture: retired pages N/A (not supported), row remapping supported, nothing pending.
    assert XML_GPU.findtext("retired_pages/pending_retirement") == "N/A"
    assert gpu["retired_pages_pending"] is None and gpu["retired_pages_double_bit"] is None
    assert gpu["remapped_rows_pending"] is False and gpu["remapped_rows_failure"] is False
    assert gpu["remapped_rows_correctable"] == int(XML_GPU.findtext("remapped_rows/remapped_row_corr"))


def test_the_real_health_query_reads_as_the_line_built_from_the_xml_capture():
    # The ECC line above is built from `nvidia-smi -q -x`; the real query's answer (captured later on an H100 of
    # the same driver) must read the same, field for field, but for the card's identity.
    real = hv.parse_ecc_csv((H100 / "query-health-noheader.csv").read_text())
    built = hv.parse_ecc_csv(ECC_LINE)
    assert list(real) == [0] and len(built) == 1
    built_gpu = next(iter(built.values()))
    assert {k: v for k, v in real[0].items() if k != "uuid"} == {k: v for k, v in built_gpu.items() if k != "uuid"}
    assert real[0]["uuid"].startswith("GPU-") and real[0]["retired_pages_pending"] is None


@pytest.mark.parametrize("line, message", [
    ("0, GPU-x, 0\n", "has 3 fields"),
    (ecc_with("remapped_rows.pending", "Maybe"), "expected Yes or No"),
    (ecc_with("ecc.errors.uncorrected.volatile.total", "many"), "invalid literal"),
])
def test_parse_ecc_csv_refuses_what_it_cannot_read(line, message):
    with pytest.raises(ValueError, match=message):
        hv.parse_ecc_csv(line)


# --- the whole result on the real H100 ----------------------------------------------------------------

def test_real_h100_every_check_in_order(host):
    docker = host.executable("nvidia-container-runtime")
    host.bins["nvidia-ctk"] = host.executable("nvidia-ctk")
    host.files["/etc/docker/daemon.json"] = container_runtime.docker_daemon_json(None, "nvidia", docker, False, "x")
    result = host.verify(driver_version=DRIVER, gpu_models=["h100"], mig_mode="disabled",
                         container_runtime={"runtimes": ["docker"], "runtime_path": docker, "runtime_name": "nvidia",
                                            "set_as_default": False, "docker_config": "/etc/docker/daemon.json"})
    checks = result["checks"]
    assert [c["id"] for c in checks] == CHECK_IDS
    assert {c["status"] for c in checks} == {"pass"}, [(c["id"], c["summary"]) for c in checks if c["status"] != "pass"]
    for item in checks:
        assert item == fleet_checks.check(item["id"], item["status"], item["summary"], "node " + NODE, NODE,
                                          item["evidence"], item["remedy"])
    assert result["nvidia_gpu_info"]["driver_version"] == DRIVER
    # One facts query, one ECC query, one package query: nothing asked twice.
    assert [c[1:] for c in host.calls] == [list(nvidia_gpu.NVIDIA_SMI_ARGS), list(hv.ECC_SMI_ARGS), list(hv.DPKG_QUERY[1:])]


def test_host_summary_of_the_real_h100(host):
    summary = host.verify()["host"]
    assert summary["node"] == NODE and summary["hostname"] == HOST
    assert summary["os"] == "Debian GNU/Linux 12 (bookworm)" and summary["kernel"] == "6.1.0-41-amd64"
    assert summary["driver_version"] == DRIVER
    assert summary["loaded_module_version"] in PROC.split()
    assert summary["gpu_count"] == int(XML.findtext("attached_gpus"))
    assert summary["gpu_models"] == [{"name": MODEL, "count": 1}]
    assert summary["mig_enabled_gpus"] == (1 if XML_GPU.findtext("mig_mode/current_mig") == "Enabled" else 0)
    assert summary["ecc_uncorrected_volatile"] == 0
    assert summary["persistence_mode_off"] == (0 if XML_GPU.findtext("persistence_mode") == "Enabled" else 1)
    assert summary["cuda_version"] is None  # no libcuda on the test host
    assert summary["verdict"] == fleet_checks.verdict(host.verify()["checks"])


def test_node_defaults_to_the_short_hostname(host):
    result = hv.verify({"pci_devices_dir": host.pci_dir, "driver_version": "580.95.05"}, host.run, host.which,
                       read_file=host.read, cuda_loader=no_libcuda, hostname="gpu-7.rack3.example.internal", kernel="k")
    assert {c["node"] for c in result["checks"]} == {"gpu-7"}
    assert {c["subject"] for c in result["checks"]} == {"node gpu-7"}
    assert result["host"]["hostname"] == "gpu-7.rack3.example.internal"
    # The remedies' --limit falls back to the node name too.
    assert "--limit gpu-7 " in by_id(result)["host.driver_pinned"]["remedy"]


# --- host.driver_loaded and host.driver_pinned ----------------------------------------------------------

def _failure(name):
    rc, output = handwritten_failure(name)
    return {"smi_rc": rc, "facts": output}


@pytest.mark.parametrize("answer, status, summary, remedy", [
    ({}, "pass", "loaded kernel module %s (open) is the installed driver's" % DRIVER, ""),
    # The driver answers, but the module in /proc is another one (proprietary 535 fixture): a reboot is due.
    ({"proc": PROC_PROPRIETARY}, "fail",
     "loaded kernel module %s differs from installed driver %s" % (PROPRIETARY_VERSION, DRIVER),
     "ansible-playbook hymt.gpu_mesh.driver_upgrade --limit %s" % HOST),
    # nvidia-smi's own mismatch answer (rc 18) while the old module is loaded.
    (dict(_failure("mismatch.txt"), proc=PROC_PROPRIETARY), "fail",
     "loaded kernel module %s differs from installed driver" % PROPRIETARY_VERSION, "drains the node and reboots it"),
    (dict(_failure("not-loaded.txt"), proc=None), "fail", "no NVIDIA kernel module is loaded", "driver_upgrade --limit " + HOST),
    (_failure("no-devices.txt"), "fail", "no GPU was found", "hymt.gpu_mesh.gpu_hosts --limit " + HOST),
    ({"facts": "0, NVIDIA H100 80GB HBM3\n"}, "not_checked", "could not be read: Failed to parse nvidia-smi output", ""),
])
def test_driver_loaded(tmp_path, answer, status, summary, remedy):
    host = Host(tmp_path, **answer)
    result = host.verify()
    item = by_id(result)["host.driver_loaded"]
    assert item["status"] == status, item
    assert summary in item["summary"]
    assert remedy in item["remedy"]
    ran = [c[1:] for c in host.calls]
    if "proc" in answer and "smi_rc" not in answer:
        # nvidia-smi itself answered (a module of another version in /proc): the GPU checks are still made.
        assert by_id(result)["host.gpu_models"]["status"] == "pass"
    if status == "pass" or "smi_rc" not in answer and "facts" not in answer:
        assert list(hv.ECC_SMI_ARGS) in ran
    else:
        # GPU checks are not made without a driver that answers; the ECC query is not even run.
        assert by_id(result)["host.gpu_models"]["status"] == "not_checked"
        assert "the driver does not answer" in by_id(result)["host.gpu_models"]["summary"]
        assert list(hv.ECC_SMI_ARGS) not in ran
        assert ran.count(list(nvidia_gpu.NVIDIA_SMI_ARGS)) == 1


def test_no_nvidia_smi_fails_driver_loaded_and_runs_no_nvidia_smi(host):
    del host.bins["nvidia-smi"]
    result = host.verify()
    item = by_id(result)["host.driver_loaded"]
    assert item["status"] == "fail" and "nvidia-smi was not found" in item["summary"]
    assert [c[0] for c in host.calls] == ["/usr/bin/dpkg-query"]
    for check_id in ("host.gpu_count", "host.gpu_models", "host.mig_mode", "host.persistence_mode", "host.ecc",
                     "host.memory_remap"):
        assert by_id(result)[check_id]["status"] == "not_checked", check_id
        assert "the driver does not answer" in by_id(result)[check_id]["summary"]


@pytest.mark.parametrize("pin, answer, status, summary, remedy", [
    ("", {}, "not_checked", "no driver version is pinned", ""),
    (DRIVER, {}, "pass", "driver %s is the pinned version" % DRIVER, ""),
    ("580.95.05", {}, "fail", "driver %s is installed, 580.95.05 is pinned" % DRIVER,
     "driver_upgrade --limit %s -e driver_upgrade_version=580.95.05" % HOST),
    (DRIVER, dict(_failure("not-loaded.txt"), proc=None), "not_checked", "version cannot be read", ""),
    (DRIVER, dict(_failure("mismatch.txt"), proc=PROC_PROPRIETARY), "not_checked", "version cannot be read", ""),
])
def test_driver_pinned(tmp_path, pin, answer, status, summary, remedy):
    item = by_id(Host(tmp_path, **answer).verify(driver_version=pin))["host.driver_pinned"]
    assert (item["status"], summary in item["summary"], remedy in item["remedy"]) == (status, True, True), item


@pytest.mark.parametrize("pin", ["580", "v580.159.04", "580.159.04-1"])
def test_bad_pin_is_a_bad_argument(host, pin):
    with pytest.raises(hv.HostVerifyError, match="driver_version"):
        host.verify(driver_version=pin)
    assert host.calls == []


# --- host.gpu_count and host.gpu_models ---------------------------------------------------------------

TWO_GPUS = FACTS_LINE + "\n" + facts_with("index", "1", facts_with("pci.bus_id", "00000000:00:07.0")) + "\n"
TWO_ECC = ECC_LINE + "\n" + ecc_with("index", "1") + "\n"


@pytest.mark.parametrize("expected, answer, status, summary", [
    (None, {}, "pass", "1 of 1 expected GPUs are visible"),
    # The handwritten HGX listing has 8 GPUs on the bus: 7 did not initialise.
    (None, {"pci": HANDWRITTEN / "hgx-h100-8gpu-sysfs-pci-devices.txt"}, "fail",
     "1 of 8 expected GPUs are visible to the driver (they are on the PCI bus but the driver did not initialise them)"),
    (2, {}, "fail", "1 of 2 expected GPUs are visible to the driver (1 of them are not even on the PCI bus"),
    (1, {"facts": TWO_GPUS, "ecc": TWO_ECC}, "warn", "2 GPUs are visible, only 1 expected"),
    (None, {"pci": None}, "not_checked", "no GPU count was given and no NVIDIA GPU is visible on the PCI bus at "),
    (1, _failure("not-loaded.txt"), "not_checked", "the driver does not answer"),
])
def test_gpu_count(tmp_path, expected, answer, status, summary):
    item = by_id(Host(tmp_path, **answer).verify(gpu_count=expected))["host.gpu_count"]
    assert item["status"] == status and summary in item["summary"], item
    if status == "fail":
        assert "Xid 79" in item["remedy"] and "kubectl describe node %s" % NODE in item["remedy"]


def test_gpu_count_zero_is_a_bad_argument(host):
    with pytest.raises(hv.HostVerifyError, match="gpu_count must be at least 1"):
        host.verify(gpu_count=0)


OTHER_MODEL = FACTS_LINE + "\n" + facts_with("index", "1", facts_with("name", "NVIDIA A100-SXM4-80GB")) + "\n"


@pytest.mark.parametrize("accepted, facts, ecc, status, summary", [
    ([], FACTS_LINE, ECC_LINE, "pass", "GPU models: 1 x %s (no models required)" % MODEL),
    (["h100"], FACTS_LINE, ECC_LINE, "pass", "every GPU is of an accepted model"),
    (["A100", "B200"], FACTS_LINE, ECC_LINE, "fail", "1 GPU(s) of no accepted model: GPU 0 (%s) %s" % (BUS_ID, MODEL)),
    (["H100"], OTHER_MODEL, TWO_ECC, "fail", "GPU 1 (%s) NVIDIA A100-SXM4-80GB" % BUS_ID),
    (["H100", "a100"], OTHER_MODEL, TWO_ECC, "pass", "1 x %s, 1 x NVIDIA A100-SXM4-80GB" % MODEL),
])
def test_gpu_models(tmp_path, accepted, facts, ecc, status, summary):
    result = Host(tmp_path, facts=facts, ecc=ecc).verify(gpu_models=accepted)
    item = by_id(result)["host.gpu_models"]
    assert item["status"] == status and summary in item["summary"], item


def test_gpu_models_are_counted_in_the_summary(tmp_path):
    summary = Host(tmp_path, facts=OTHER_MODEL, ecc=TWO_ECC).verify()["host"]
    assert summary["gpu_models"] == [{"name": MODEL, "count": 1}, {"name": "NVIDIA A100-SXM4-80GB", "count": 1}]


# --- host.mig_mode and host.persistence_mode ------------------------------------------------------------

@pytest.mark.parametrize("wanted, current, pending, status, summary", [
    ("any", "Disabled", "Disabled", "pass", "no MIG mode change pending"),
    ("disabled", "Disabled", "Disabled", "pass", "MIG mode as wanted (disabled)"),
    ("enabled", "Disabled", "Disabled", "fail", "MIG mode is not enabled on GPU 0"),
    ("enabled", "Enabled", "Enabled", "pass", "MIG mode as wanted (enabled)"),
    ("disabled", "Enabled", "Enabled", "fail", "MIG mode is not disabled on GPU 0"),
    ("any", "Disabled", "Enabled", "warn", "a GPU reset is pending"),
    ("disabled", "Disabled", "Enabled", "warn", "a GPU reset is pending"),
    # A GPU without MIG reads [N/A]: it counts as disabled, and cannot be enabled.
    ("disabled", "[N/A]", "[N/A]", "pass", "MIG mode as wanted"),
    ("enabled", "[N/A]", "[N/A]", "fail", "MIG mode is not enabled"),
])
def test_mig_mode(tmp_path, wanted, current, pending, status, summary):
    facts = facts_with("mig.mode.pending", pending, facts_with("mig.mode.current", current))
    item = by_id(Host(tmp_path, facts=facts).verify(mig_mode=wanted))["host.mig_mode"]
    assert item["status"] == status and summary in item["summary"], item
    if status == "warn":
        assert "nvidia-smi -r -i" in item["remedy"]


def test_mig_mode_choice_is_checked(host):
    with pytest.raises(hv.HostVerifyError, match="mig_mode"):
        host.verify(mig_mode="mixed")


@pytest.mark.parametrize("wanted, value, status, summary", [
    (True, "Enabled", "pass", "persistence mode is on on every GPU"),
    (True, "Disabled", "warn", "persistence mode is off on GPU 0 (%s)" % BUS_ID),
    (True, "[N/A]", "pass", "that supports it (1 report [N/A])"),
    (False, "Disabled", "not_checked", "persistence_mode is false"),
])
def test_persistence_mode(tmp_path, wanted, value, status, summary):
    result = Host(tmp_path, facts=facts_with("persistence_mode", value)).verify(persistence_mode=wanted)
    item = by_id(result)["host.persistence_mode"]
    assert item["status"] == status and summary in item["summary"], item
    assert result["host"]["persistence_mode_off"] == (1 if value == "Disabled" else 0)


# --- host.ecc and host.memory_remap --------------------------------------------------------------------

@pytest.mark.parametrize("ecc, facts, status, summary", [
    (ECC_LINE, FACTS_LINE, "pass", "no uncorrectable ECC error on any GPU"),
    (ecc_with("ecc.errors.uncorrected.volatile.total", "2", "ecc.errors.uncorrected.aggregate.total", "2"), FACTS_LINE,
     "fail", "GPU 0 (%s) has 2 uncorrectable ECC error(s) since the driver loaded" % BUS_ID),
    (ecc_with("ecc.errors.uncorrected.aggregate.total", "3"), FACTS_LINE,
     "warn", "has 3 uncorrectable ECC error(s) over its life, none since the driver loaded"),
    (ECC_LINE, facts_with("ecc.mode.current", "Disabled"), "warn", "ECC is disabled on GPU 0"),
    # [N/A] counters: not supported, shown, never a failure.
    (ecc_with("ecc.errors.uncorrected.volatile.total", "[N/A]", "ecc.errors.uncorrected.aggregate.total", "[N/A]"),
     facts_with("ecc.mode.current", "[N/A]"), "pass", "no uncorrectable ECC error"),
])
def test_ecc(tmp_path, ecc, facts, status, summary):
    result = Host(tmp_path, facts=facts, ecc=ecc).verify()
    item = by_id(result)["host.ecc"]
    assert item["status"] == status and summary in item["summary"], item
    if status == "fail":
        assert "nvidia-smi -q -d ECC" in item["remedy"] and "drain node " + NODE in item["remedy"]
        assert result["host"]["ecc_uncorrected_volatile"] == 2


def test_ecc_query_refused_is_not_checked(tmp_path):
    # The real answer of driver 580 to a field it does not know.
    rc, output = (CARD2 / "invalid-field.txt").read_text().split("\n", 1)
    result = Host(tmp_path, ecc=output, ecc_rc=int(rc)).verify()
    for check_id in ("host.ecc", "host.memory_remap"):
        item = by_id(result)[check_id]
        assert item["status"] == "not_checked" and output.splitlines()[0] in item["summary"], item
    assert result["host"]["ecc_uncorrected_volatile"] is None


@pytest.mark.parametrize("ecc, message", [
    ("0, GPU-x\n", "Failed to parse the ECC query's output"),
    (TWO_ECC, "the ECC query listed GPUs [0, 1], the first query [0]"),
])
def test_ecc_output_that_does_not_fit_is_not_checked(tmp_path, ecc, message):
    item = by_id(Host(tmp_path, ecc=ecc).verify())["host.ecc"]
    assert item["status"] == "not_checked" and message in item["summary"]


@pytest.mark.parametrize("edits, status, summary, remedy", [
    ((), "pass", "no memory repair pending or failed", ""),
    (("remapped_rows.pending", "Yes"), "warn", "memory repair is pending on GPU 0", "nvidia-smi -r -i"),
    (("retired_pages.pending", "Yes", "remapped_rows.pending", "[N/A]", "remapped_rows.failure", "[N/A]"),
     "warn", "a GPU reset applies it", "reboot the host"),
    (("remapped_rows.failure", "Yes"), "fail", "row remapping failed on GPU 0", "RMA"),
    (("remapped_rows.failure", "Yes", "remapped_rows.pending", "Yes"), "fail", "cannot be repaired", "RMA"),
    (("remapped_rows.pending", "[N/A]", "remapped_rows.failure", "[N/A]", "remapped_rows.uncorrectable", "[N/A]",
      "remapped_rows.correctable", "[N/A]"), "not_checked", "no GPU reports row remapping or page retirement", ""),
])
def test_memory_remap(tmp_path, edits, status, summary, remedy):
    item = by_id(Host(tmp_path, ecc=ecc_with(*edits)).verify())["host.memory_remap"]
    assert item["status"] == status and summary in item["summary"], item
    assert remedy in item["remedy"]
    assert item["evidence"].startswith("GPU 0 (%s) remapped rows: pending " % BUS_ID)


def test_real_h100_memory_evidence_says_retired_pages_are_not_supported(host):
    evidence = by_id(host.verify())["host.memory_remap"]["evidence"]
    assert "retired pages: pending [N/A], double-bit [N/A]" in evidence
    assert "not supported" in evidence


# --- host.container_runtime and host.toolkit_binaries ------------------------------------------------------

DEBIAN_CONFIG = (CONTAINERD / "debian-containerd-config.toml").read_text()


def runtime_options(**overrides):
    options = {name: spec.get("default") for name, spec in hv.container_runtime_options().items()}
    options.update(runtimes=["containerd"])
    options.update(overrides)
    return options


def configured_files(options, containerd_version, config=DEBIAN_CONFIG):
    """The files as container_runtime_nvidia writes them for this containerd version, over Debian's config."""
    files = {options["containerd_config"]: config}
    for _runtime, path, _before, after in container_runtime.plan(options, files, containerd_version)[0]:
        files[path] = after
    return files


def with_containerd(version):
    return DPKG_HELD.replace("containerd amd64 1.6.20~ds1-1+deb12u3", "containerd amd64 %s" % version)


@pytest.mark.skipif(not container_runtime.HAS_TOML_READER, reason="needs tomllib")
@pytest.mark.parametrize("written_for, packages, status, summary", [
    # Written for Debian 12's containerd 1.6 (drop-in carrying the CRI table), and containerd 1.6 installed.
    ((1, 6), DPKG_HELD, "pass", "registered with containerd as the toolkit role configures it"),
    # Written for containerd 2.x, but 1.6 is installed: the drop-in lacks the carried CRI table.
    ((2, 0), DPKG_HELD, "fail", "/etc/containerd/conf.d/99-nvidia.toml differs"),
    ((2, 0), with_containerd("2.1.4-1"), "pass", "registered with containerd"),
    # containerd not from a package: both layouts are accepted.
    ((2, 0), DPKG_HELD.replace("containerd amd64", "containerd-unrelated amd64"), "pass", "registered"),
    (None, DPKG_HELD.replace("containerd amd64", "containerd-unrelated amd64"), "pass", "registered"),
])
def test_container_runtime_containerd(tmp_path, written_for, packages, status, summary):
    options = runtime_options()
    host = Host(tmp_path, packages=packages)
    host.files.update(configured_files(options, written_for))
    item = by_id(host.verify(container_runtime=options))["host.container_runtime"]
    assert item["status"] == status and summary in item["summary"], item


def test_container_runtime_not_configured_shows_the_diff(host):
    options = runtime_options()
    host.files[options["containerd_config"]] = DEBIAN_CONFIG
    item = by_id(host.verify(container_runtime=options))["host.container_runtime"]
    assert item["status"] == "fail"
    assert "/etc/containerd/conf.d/99-nvidia.toml is missing" in item["summary"]
    assert "/etc/containerd/config.toml differs" in item["summary"]
    assert '+imports = ["/etc/containerd/conf.d/99-nvidia.toml"]' in item["evidence"]
    assert item["remedy"].startswith("run the gpu_hosts phase for this host (ansible-playbook hymt.gpu_mesh.gpu_hosts --limit %s)" % HOST)


@pytest.mark.parametrize("daemon_json, set_as_default, status", [
    ('{"runtimes": {"nvidia": {"args": [], "path": "/usr/bin/nvidia-container-runtime"}}}', False, "pass"),
    ('{"runtimes": {"nvidia": {"args": [], "path": "/usr/bin/nvidia-container-runtime"}}}', True, "fail"),
    ('{"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}}', True, "pass"),
    ('{"log-driver": "journald"}', False, "fail"),
    (None, False, "fail"),
])
def test_container_runtime_docker(host, daemon_json, set_as_default, status):
    options = runtime_options(runtimes=["docker"], set_as_default=set_as_default)
    host.files[options["docker_config"]] = daemon_json
    assert by_id(host.verify(container_runtime=options))["host.container_runtime"]["status"] == status


@pytest.mark.parametrize("options", [None, {}, {"runtimes": []}])
def test_container_runtime_not_asked(host, options):
    result = by_id(host.verify(container_runtime=options))
    for check_id in ("host.container_runtime", "host.toolkit_binaries"):
        assert result[check_id]["status"] == "not_checked"
        assert "container_runtime.runtimes is empty" in result[check_id]["summary"]


def test_container_runtime_unreadable_file_is_not_checked(host):
    options = runtime_options()
    host.files[options["containerd_config"]] = PermissionError(13, "Permission denied")
    item = by_id(host.verify(container_runtime=options))["host.container_runtime"]
    assert item["status"] == "not_checked" and "Permission denied" in item["summary"]


@pytest.mark.parametrize("ctk, runtime, status, summary", [
    (True, True, "pass", "nvidia-ctk and nvidia-container-runtime are installed"),
    (False, True, "fail", "nvidia-ctk (not found in PATH)"),
    (True, False, "fail", "nvidia-container-runtime (looked for "),
])
def test_toolkit_binaries(host, ctk, runtime, status, summary):
    if ctk:
        host.bins["nvidia-ctk"] = host.executable("nvidia-ctk")
    runtime_path = host.executable("nvidia-container-runtime") if runtime else str(host.tmp_path / "absent")
    options = runtime_options(runtimes=["crio"], runtime_path=runtime_path)
    item = by_id(host.verify(container_runtime=options))["host.toolkit_binaries"]
    assert item["status"] == status and summary in item["summary"], item
    if status == "fail":
        assert "gpu_hosts --limit " + HOST in item["remedy"]


def test_nvidia_ctk_path_option(host):
    path = host.executable("my-ctk")
    options = runtime_options(runtimes=["crio"], runtime_path=host.executable("nvidia-container-runtime"))
    item = by_id(host.verify(container_runtime=options, nvidia_ctk_path=path))["host.toolkit_binaries"]
    assert item["status"] == "pass" and path in item["evidence"]


def test_container_runtime_options_are_container_runtime_nvidias():
    # Both come from container_runtime.runtime_arg_spec; only validate (a write-time option) is left out,
    # and runtimes may be empty here.
    from ansible_collections.hymt.gpu_mesh.plugins.modules import container_runtime_nvidia
    theirs = container_runtime_nvidia.argspec()
    ours = hv.container_runtime_options()
    assert set(theirs) - set(ours) == {"validate"}
    for name, spec in ours.items():
        expected = dict(theirs[name])
        if name == "runtimes":
            expected.pop("required")
            expected["default"] = []
        assert spec == expected, name


# --- host.package_holds ------------------------------------------------------------------------------------

@pytest.mark.parametrize("packages, states, status, summary", [
    (DPKG_HELD, EXTENDED_STATES, "pass", "the 4 manually installed package(s) of driver %s are held" % DRIVER),
    (DPKG_HELD.replace("hold installed nvidia-driver-cuda", "install installed nvidia-driver-cuda"), EXTENDED_STATES,
     "fail", "driver package(s) not held, so an apt upgrade could replace the driver: nvidia-driver-cuda"),
    # Without extended_states apt counts every package as manually installed: the dependency must be held too.
    (DPKG_HELD, None, "fail", ": libnvidia-ml1"),
    # An epoch does not hide a package.
    (DPKG_HELD.replace("install installed libnvidia-ml1 amd64 580.159.04-1", "install installed nvidia-modprobe amd64 1:580.159.04-1"),
     EXTENDED_STATES, "fail", ": nvidia-modprobe"),
    # A runfile install: no package of the driver's version.
    ("install installed base-files amd64 12.4+deb12u11\n", EXTENDED_STATES, "not_checked",
     "no installed package is of driver %s" % DRIVER),
])
def test_package_holds_debian(tmp_path, packages, states, status, summary):
    host = Host(tmp_path, packages=packages)
    host.files[hv.APT_EXTENDED_STATES] = states
    item = by_id(host.verify())["host.package_holds"]
    assert item["status"] == status and summary in item["summary"], item
    if status == "fail":
        unheld = item["summary"].split(": ", 1)[1]
        assert item["remedy"].endswith("or `apt-mark hold %s`" % unheld.replace(", ", " "))


def test_package_holds_ignores_removed_and_other_versions(tmp_path):
    # nvidia-kernel-dkms 580.95.05 is only config-files; a held older driver is not this driver's.
    item = by_id(Host(tmp_path).verify())["host.package_holds"]
    assert "nvidia-kernel-dkms" not in item["evidence"]
    assert "libnvidia-ml1" not in item["evidence"].split(";")[0]


@pytest.mark.parametrize("versionlock, packages, status, summary", [
    (VERSIONLOCK, RPM_LIST, "pass", "the 4 driver package(s) at %s are version-locked" % DRIVER),
    (VERSIONLOCK.replace("nvidia-persistenced-3:580.159.04-1.el9.*\n", ""), RPM_LIST, "fail",
     "driver package(s) not version-locked, so a dnf upgrade could replace the driver: nvidia-persistenced"),
    # A lock on another version does not hold this one.
    (VERSIONLOCK.replace("nvidia-driver-3:580.159.04", "nvidia-driver-3:580.95.05"), RPM_LIST, "fail", ": nvidia-driver"),
    (VERSIONLOCK.replace("nvidia-driver-cuda-3:", "!nvidia-driver-cuda-3:"), RPM_LIST, "fail", ": nvidia-driver-cuda"),
    (None, RPM_LIST, "fail", "kmod-nvidia-open-dkms, nvidia-driver, nvidia-driver-cuda, nvidia-persistenced"),
    (VERSIONLOCK, "bash (none) 5.1.8 9.el9 x86_64 requires:, provides:bash,\n", "not_checked", "no installed package"),
])
def test_package_holds_redhat(tmp_path, versionlock, packages, status, summary):
    host = Host(tmp_path, family="RedHat", packages=packages)
    host.files[hv.DNF_VERSIONLOCK_LIST] = versionlock
    result = host.verify()
    item = by_id(result)["host.package_holds"]
    assert item["status"] == status and summary in item["summary"], item
    assert result["host"]["os"] == "Red Hat Enterprise Linux 9.6"
    assert [c[0] for c in host.calls][-1] == "/usr/bin/rpm"


@pytest.mark.parametrize("params, family, package_rc, status, summary, package_query", [
    ({"check_holds": False}, "Debian", 0, "not_checked", "check_holds is false", False),
    # containerd's version still comes from the one package query when holds are not checked.
    ({"check_holds": False, "container_runtime": {"runtimes": ["containerd"]}}, "Debian", 0, "not_checked",
     "check_holds is false", True),
    ({}, None, 0, "not_checked", "neither dpkg-query nor rpm is installed", False),
    ({}, "Debian", 2, "not_checked", "the package query failed: dpkg-query exited 2", True),
])
def test_package_holds_not_checked(tmp_path, params, family, package_rc, status, summary, package_query):
    host = Host(tmp_path, family=family, package_rc=package_rc)
    if "container_runtime" in params:
        params["container_runtime"] = runtime_options()
        host.files.update(configured_files(params["container_runtime"], (1, 6)))
    item = by_id(host.verify(**params))["host.package_holds"]
    assert item["status"] == status and summary in item["summary"], item
    ran = [c[0] for c in host.calls]
    assert ("/usr/bin/dpkg-query" in ran) is package_query


def test_package_holds_use_the_pin_when_the_driver_does_not_answer(tmp_path):
    host = Host(tmp_path, **dict(_failure("not-loaded.txt"), proc=None))
    item = by_id(host.verify(driver_version=DRIVER))["host.package_holds"]
    assert item["status"] == "pass" and DRIVER in item["summary"]


@pytest.mark.parametrize("package_version, driver, matches", [
    ("580.159.04-1", "580.159.04", True),
    ("1:580.159.04-0ubuntu0.24.04.1", "580.159.04", True),
    ("580.159.04", "580.159.04", True),
    ("580.159.04~rc1", "580.159.04", True),
    ("580.159.040-1", "580.159.04", False),
    ("580.159.05-1", "580.159.04", False),
    ("1.580.159.04-1", "580.159.04", False),
    # nvidia-smi's mismatch answer gives only major.minor (NVML library version 580.159).
    ("580.159.04-1", "580.159", True),
    ("580.1590.04-1", "580.159", False),
    ("580.159.04-1", "", False),
])
def test_version_matches(package_version, driver, matches):
    assert hv.version_matches(package_version, driver) is matches


@pytest.mark.parametrize("pattern, locked", [
    ("nvidia-driver-3:580.159.04-1.el9.*", True),
    ("nvidia-driver-3:580.159.04-1.el9.x86_64", True),
    ("nvidia-driver-580.159.04-1.el9.x86_64", True),
    ("nvidia-driver-0:580.159.04-1.el9.*", False),
    ("nvidia-driver-cuda-3:580.159.04-1.el9.*", False),
    ("nvidia-driver-3:580.159.04-2.el9.*", False),
])
def test_rpm_locked(pattern, locked):
    package = hv.parse_rpm(RPM_LIST)[1]
    assert package["name"] == "nvidia-driver"
    assert hv.rpm_locked(package, hv.parse_versionlock(pattern)) is locked


@pytest.mark.parametrize("release, bins, family", [
    ({"ID": "debian"}, {}, "Debian"),
    ({"ID": "ubuntu", "ID_LIKE": "debian"}, {}, "Debian"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, {}, "RedHat"),
    ({}, {"rpm": "/usr/bin/rpm"}, "RedHat"),
    ({"ID": "arch"}, {}, None),
])
def test_os_family(release, bins, family):
    assert hv.os_family(release, bins.get) == family


# --- the lab's nvidia-smi answers the query --------------------------------------------------------------

@pytest.fixture
def standin(tmp_path):
    """The lab's nvidia-smi stand-in as the lab installs it, over the lab's passthrough inventory."""
    from lab.nvidia_packages import catalogue
    script = tmp_path / "nvidia_smi.py"
    script.write_text(catalogue._standin("nvidia_smi.py", DRIVER_VERSION=DRIVER, CUDA_VERSION="13.0"))  # pylint: disable=protected-access
    inventory = tmp_path / "gpus.json"
    inventory.write_text(catalogue._gpus_json())  # pylint: disable=protected-access
    (tmp_path / "proc").write_text(PROC)
    env = dict(os.environ, NVIDIA_SIM_GPUS=str(inventory), NVIDIA_SIM_PROC_DRIVER_VERSION=str(tmp_path / "proc"),
               NVIDIA_SIM_MIG_STATE=str(tmp_path / "mig.json"))

    def run(args):
        done = subprocess.run([sys.executable, str(script)] + list(args), env=env, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr

    run.inventory = inventory
    return run


def test_lab_standin_answers_the_ecc_query(standin):
    rc, out, err = standin(hv.ECC_SMI_ARGS)
    assert rc == 0, out + err
    gpus = hv.parse_ecc_csv(out)
    assert sorted(gpus) == [0, 1]
    # A healthy H100, as the real capture: counters 0, rows not pending, retired pages not supported.
    assert gpus[0] == hv.parse_ecc_csv(ECC_LINE)[0] | {"uuid": gpus[0]["uuid"]}


def test_lab_standin_reads_ecc_values_from_the_inventory(standin):
    import json
    inventory = json.loads(standin.inventory.read_text())
    inventory["gpus"][1].update(ecc_errors_uncorrected_volatile=4, remapped_rows_pending="Yes")
    standin.inventory.write_text(json.dumps(inventory))
    gpus = hv.parse_ecc_csv(standin(hv.ECC_SMI_ARGS)[1])
    assert gpus[1]["uncorrected_volatile"] == 4 and gpus[1]["remapped_rows_pending"] is True
    assert gpus[0]["uncorrected_volatile"] == 0


def test_lab_standin_still_refuses_unknown_fields(standin):
    rc, out, _err = standin(["--query-gpu=index,remapped_rows.histogram.max", "--format=csv,noheader,nounits"])
    real_rc, real_out = (CARD2 / "invalid-field.txt").read_text().split("\n", 1)
    assert rc == int(real_rc)
    assert out.splitlines()[0] == real_out.splitlines()[0].replace("no_such_field", "remapped_rows.histogram.max")
