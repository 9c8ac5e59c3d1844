# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers and fact assembly of module_utils/nvidia_gpu.py on real nvidia-smi captures.

Expected values are read from other captures of the same card than the one parsed (the XML of
``nvidia-smi -q -x``, the CSV with header and units, NVML's own answer), never typed from the
parser's output. Variants (8 GPUs, MIG pending, [N/A] fields, version mismatch) are derived from
the real CSV line by editing the named column.
"""

from __future__ import annotations

import csv
import ctypes
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi"
H100 = FIXTURES / "h100-driver-580.159.04"
HANDWRITTEN = FIXTURES / "handwritten"
CARD2 = FIXTURES / "h100-driver-580.159.04-card2"


def read(path):
    return path.read_text()


def handwritten_failure(name):
    """(rc, output) of a hand-written nvidia-smi failure fixture."""
    rc, output = read(HANDWRITTEN / name).split("\n", 1)
    return int(rc), output


@pytest.fixture(scope="module")
def xml_gpu():
    """The XML capture's driver facts and its one GPU, as the expected values."""
    root = ET.parse(H100 / "nvidia-smi-q.xml").getroot()
    gpu = root.find("gpu")
    return {
        "driver_version": root.findtext("driver_version"),
        "cuda_version": root.findtext("cuda_version"),
        "attached_gpus": int(root.findtext("attached_gpus")),
        "name": gpu.findtext("product_name"),
        "uuid": gpu.findtext("uuid"),
        "pci_bus_id": gpu.findtext("pci/pci_bus_id"),
        "memory_total_mib": int(gpu.findtext("fb_memory_usage/total").split()[0]),
        "mig_mode_current": gpu.findtext("mig_mode/current_mig") == "Enabled",
        "mig_mode_pending": gpu.findtext("mig_mode/pending_mig") == "Enabled",
        "ecc_mode": gpu.findtext("ecc_mode/current_ecc") == "Enabled",
        "persistence_mode": gpu.findtext("persistence_mode") == "Enabled",
        "minor_number": int(gpu.findtext("minor_number")),
    }


@pytest.fixture(scope="module")
def nvml_capture():
    """nvml.txt: '<driver> <name...> <uuid> (<major>, <minor>) <cuda int>' then a timing line."""
    first = read(H100 / "nvml.txt").splitlines()[0]
    head, tail = first.split(" (", 1)
    driver, rest = head.split(" ", 1)
    name, uuid = rest.rsplit(" ", 1)
    capability, cuda = tail.split(") ")
    major, minor = (int(x) for x in capability.split(", "))
    return {"driver": driver, "name": name, "uuid": uuid, "cc": (major, minor), "cuda": int(cuda)}


def real_line():
    return read(H100 / "query-gpu-noheader.csv").strip()


def with_column(line, field, value):
    cells = [c.strip() for c in line.split(",")]
    cells[nvidia_gpu.QUERY_FIELDS.index(field)] = value
    return ", ".join(cells)


# --- the command line -------------------------------------------------------------------------

def test_query_fields_are_the_captured_query():
    # The README of the capture names the fields of query-gpu-noheader.csv; the module must ask
    # for exactly those, in that order, so the capture is a faithful sample of its input.
    readme = re.sub(r",\s+", ",", read(H100 / "README.md"))
    assert "with " + ",".join(nvidia_gpu.QUERY_FIELDS) + " (query-gpu-noheader.csv)" in readme
    assert nvidia_gpu.NVIDIA_SMI_ARGS[1] == "--format=csv,noheader,nounits"


# --- parse_query_csv on the real capture ------------------------------------------------------

def test_parse_real_h100_matches_xml(xml_gpu, nvml_capture):
    driver, gpus = nvidia_gpu.parse_query_csv(read(H100 / "query-gpu-noheader.csv"))
    assert driver == xml_gpu["driver_version"]
    assert len(gpus) == xml_gpu["attached_gpus"]
    gpu = gpus[0]
    for key in ("name", "uuid", "pci_bus_id", "memory_total_mib", "mig_mode_current",
                "mig_mode_pending", "ecc_mode", "persistence_mode"):
        assert gpu[key] == xml_gpu[key], key
    assert gpu["index"] == xml_gpu["minor_number"]
    assert gpu["compute_capability"] == "%d.%d" % nvml_capture["cc"]


def test_parse_real_h100_matches_csv_with_units():
    gpus = nvidia_gpu.parse_query_csv(read(H100 / "query-gpu-noheader.csv"))[1]
    with open(H100 / "query-gpu.csv", newline="") as handle:
        rows = list(csv.DictReader(handle, skipinitialspace=True))
    assert len(rows) == len(gpus)
    row, gpu = rows[0], gpus[0]
    assert gpu["index"] == int(row["index"])
    assert gpu["name"] == row["name"]
    assert gpu["uuid"] == row["uuid"]
    assert gpu["pci_bus_id"] == row["pci.bus_id"]
    assert gpu["memory_total_mib"] == int(row["memory.total [MiB]"].removesuffix(" MiB"))
    assert gpu["compute_capability"] == row["compute_cap"]
    assert gpu["ecc_mode"] is (row["ecc.mode.current"] == "Enabled")


def test_parse_eight_gpus_derived_from_capture():
    base = real_line()
    uuid = base.split(", ")[2]
    lines = []
    for i in range(8):
        line = with_column(base, "index", str(i))
        line = with_column(line, "pci.bus_id", "00000000:%02X:00.0" % (0x18 + i))
        lines.append(with_column(line, "uuid", uuid[:-1] + str(i)))
    driver, gpus = nvidia_gpu.parse_query_csv("\n".join(lines) + "\n")
    assert driver == base.split(", ")[-1]
    assert [g["index"] for g in gpus] == list(range(8))
    assert len({g["uuid"] for g in gpus}) == 8
    assert gpus[7]["pci_bus_id"] == "00000000:1F:00.0"
    assert {g["name"] for g in gpus} == {base.split(", ")[1]}


@pytest.mark.parametrize("current, pending", [("Disabled", "Enabled"), ("Enabled", "Enabled"), ("Enabled", "Disabled")])
def test_parse_mig_modes(current, pending):
    line = with_column(with_column(real_line(), "mig.mode.current", current), "mig.mode.pending", pending)
    gpus = nvidia_gpu.parse_query_csv(line)[1]
    assert gpus[0]["mig_mode_current"] is (current == "Enabled")
    assert gpus[0]["mig_mode_pending"] is (pending == "Enabled")


@pytest.mark.parametrize("field, key", [
    ("mig.mode.current", "mig_mode_current"),
    ("mig.mode.pending", "mig_mode_pending"),
    ("ecc.mode.current", "ecc_mode"),
    ("persistence_mode", "persistence_mode"),
    ("compute_cap", "compute_capability"),
    ("memory.total", "memory_total_mib"),
])
@pytest.mark.parametrize("unavailable", ["[N/A]", "[Not Supported]"])
def test_parse_unavailable_fields_are_none(field, key, unavailable):
    gpus = nvidia_gpu.parse_query_csv(with_column(real_line(), field, unavailable))[1]
    assert gpus[0][key] is None
    assert gpus[0]["uuid"] == real_line().split(", ")[2]


def test_parse_empty_output_is_no_gpu():
    assert nvidia_gpu.parse_query_csv("\n") == (None, [])


@pytest.mark.parametrize("bad", [
    "0, NVIDIA H100 80GB HBM3, GPU-x",                       # too few fields
    with_column(real_line(), "index", "zero"),               # not a number
    with_column(real_line(), "ecc.mode.current", "Maybe"),   # neither Enabled nor Disabled
])
def test_parse_refuses_unreadable_lines(bad):
    with pytest.raises(nvidia_gpu.NvidiaGpuError, match="Failed to"):
        nvidia_gpu.parse_query_csv(bad)


def test_parse_refuses_mixed_driver_versions():
    lines = [real_line(), with_column(with_column(real_line(), "index", "1"), "driver_version", "580.95.05")]
    with pytest.raises(nvidia_gpu.NvidiaGpuError, match="different drivers"):
        nvidia_gpu.parse_query_csv("\n".join(lines))


# --- /proc/driver/nvidia/version --------------------------------------------------------------

def test_proc_version_real_open_module(xml_gpu):
    parsed = nvidia_gpu.parse_proc_version(read(H100 / "proc-driver-nvidia-version.txt"))
    assert parsed["version"] == xml_gpu["driver_version"]
    assert "open kernel module" in read(H100 / "README.md")
    assert parsed["flavour"] == "open"


def test_proc_version_proprietary_module():
    text = read(HANDWRITTEN / "proc-version-proprietary.txt")
    parsed = nvidia_gpu.parse_proc_version(text)
    assert parsed["version"] == text.split()[7]
    assert parsed["flavour"] == "proprietary"


@pytest.mark.parametrize("text", [None, "", "garbage\n"])
def test_proc_version_unreadable(text):
    assert nvidia_gpu.parse_proc_version(text) == {"version": None, "flavour": None}


# --- failure classification -------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [
    ("not-loaded.txt", "not_loaded"),
    ("mismatch.txt", "mismatch"),
    ("no-devices.txt", "no_devices"),
])
def test_classify_handwritten_failures(name, kind):
    rc, output = handwritten_failure(name)
    assert nvidia_gpu.classify_smi_failure(rc, output, "")[0] == kind
    # The text alone is enough: a wrapper may turn the exit status into 1.
    assert nvidia_gpu.classify_smi_failure(1, output, "")[0] == kind


def test_classify_mismatch_reads_library_version():
    rc, output = handwritten_failure("mismatch.txt")
    version, message = nvidia_gpu.classify_smi_failure(rc, "", output)[1:]
    assert version == output.split("NVML library version: ")[1].strip()
    assert message == output.splitlines()[0]


def test_classify_unknown_failure_keeps_first_line():
    kind, version, message = nvidia_gpu.classify_smi_failure(2, "", 'Field "compute_cap" is not a valid field to query.\n\n')
    assert (kind, version) == ("error", None)
    assert "compute_cap" in message
    assert "rc=4" in nvidia_gpu.classify_smi_failure(4, "", "")[2]


# --- CUDA version through libcuda -------------------------------------------------------------

class FakeLibcuda:
    def __init__(self, version, rc=0):
        self.version, self.rc = version, rc

    def cuDriverGetVersion(self, ref):  # noqa: N802 - the C function's name
        ctypes.cast(ref, ctypes.POINTER(ctypes.c_int)).contents.value = self.version
        return self.rc


def test_cuda_version_from_driver_api(xml_gpu, nvml_capture):
    # NVML's CUDA integer from the same card; the XML shows how nvidia-smi prints it.
    assert nvidia_gpu.cuda_driver_version(lambda name: FakeLibcuda(nvml_capture["cuda"])) == xml_gpu["cuda_version"]


def test_cuda_version_unavailable():
    def missing(name):
        raise OSError(name + ": cannot open shared object file")
    assert nvidia_gpu.cuda_driver_version(missing) is None
    assert nvidia_gpu.cuda_driver_version(lambda name: FakeLibcuda(13000, rc=3)) is None


# --- gather(): the nvidia-smi backend ---------------------------------------------------------

class Runner:
    """Stands in for AnsibleModule.run_command and records every call."""

    def __init__(self, rc=0, stdout="", stderr=""):
        self.result, self.calls = (rc, stdout, stderr), []

    def __call__(self, args):
        self.calls.append(args)
        return self.result


def gather_smi(runner, proc_text, nvidia_smi="/usr/bin/nvidia-smi", cuda=13000):
    return nvidia_gpu.gather(
        runner, nvidia_smi, lambda: proc_text, backend="nvidia-smi",
        cuda_loader=lambda name: FakeLibcuda(cuda),
    )


def test_gather_real_h100(xml_gpu):
    runner = Runner(stdout=read(H100 / "query-gpu-noheader.csv"))
    facts = gather_smi(runner, read(H100 / "proc-driver-nvidia-version.txt"))
    assert runner.calls == [["/usr/bin/nvidia-smi"] + list(nvidia_gpu.NVIDIA_SMI_ARGS)]
    assert facts["present"] is True and facts["reason"] is None
    assert facts["backend"] == "nvidia-smi"
    assert facts["driver_version"] == xml_gpu["driver_version"]
    assert facts["driver_branch"] == xml_gpu["driver_version"].split(".")[0]
    assert facts["cuda_version"] == xml_gpu["cuda_version"]
    assert facts["kernel_module_loaded"] is True
    assert facts["kernel_module_version"] == xml_gpu["driver_version"]
    assert facts["kernel_module_flavour"] == "open"
    assert facts["driver_mismatch"] is False and facts["reboot_required"] is False
    assert facts["gpu_count"] == xml_gpu["attached_gpus"] == len(facts["gpus"])
    assert set(facts) == set(nvidia_gpu.empty_facts())


def test_gather_eight_gpus_runs_nvidia_smi_once():
    lines = [with_column(real_line(), "index", str(i)) for i in range(8)]
    runner = Runner(stdout="\n".join(lines))
    facts = gather_smi(runner, read(H100 / "proc-driver-nvidia-version.txt"))
    assert facts["gpu_count"] == 8
    assert len(runner.calls) == 1


def test_gather_loaded_module_older_than_userspace():
    # Userspace reports the capture's driver; the loaded module is an older 580 build.
    proc = read(H100 / "proc-driver-nvidia-version.txt").replace("580.159.04", "580.95.05")
    facts = gather_smi(Runner(stdout=read(H100 / "query-gpu-noheader.csv")), proc)
    assert facts["kernel_module_version"] == "580.95.05"
    assert facts["driver_mismatch"] is True and facts["reboot_required"] is True
    assert facts["present"] is True


def test_gather_version_mismatch_failure(xml_gpu):
    rc, output = handwritten_failure("mismatch.txt")
    facts = gather_smi(Runner(rc=rc, stdout=output), read(H100 / "proc-driver-nvidia-version.txt"))
    assert facts["present"] is False and "differ" in facts["reason"]
    assert facts["driver_mismatch"] is True and facts["reboot_required"] is True
    assert facts["driver_version"] == output.split("NVML library version: ")[1].strip()
    assert facts["kernel_module_version"] == xml_gpu["driver_version"]


def test_gather_kernel_module_not_loaded():
    rc, output = handwritten_failure("not-loaded.txt")
    facts = gather_smi(Runner(rc=rc, stdout=output), None)
    assert facts["present"] is False and "not loaded" in facts["reason"]
    assert facts["kernel_module_loaded"] is False and facts["kernel_module_version"] is None
    assert facts["reboot_required"] is True and facts["driver_mismatch"] is False
    assert facts["gpu_count"] == 0 and facts["driver_branch"] is None


def test_gather_no_devices():
    rc, output = handwritten_failure("no-devices.txt")
    facts = gather_smi(Runner(rc=rc, stdout=output), read(H100 / "proc-driver-nvidia-version.txt"))
    assert facts["present"] is False and "no GPU" in facts["reason"]
    assert facts["reboot_required"] is False
    assert facts["driver_branch"] == "580"  # from the loaded module


def test_gather_without_nvidia_smi_runs_nothing():
    runner = Runner()
    facts = gather_smi(runner, read(H100 / "proc-driver-nvidia-version.txt"), nvidia_smi=None)
    assert runner.calls == []
    assert facts["present"] is False and "nvidia-smi was not found" in facts["reason"]
    assert facts["kernel_module_loaded"] is True
    assert facts["reboot_required"] is False  # nothing to reboot into: the userspace is missing


def test_gather_without_proc_file_trusts_a_working_query():
    # Containers may hide /proc/driver/nvidia; a working query still proves a loaded module.
    facts = gather_smi(Runner(stdout=read(H100 / "query-gpu-noheader.csv")), None)
    assert facts["present"] is True and facts["kernel_module_loaded"] is True
    assert facts["kernel_module_version"] is None
    assert facts["driver_mismatch"] is False and facts["reboot_required"] is False


def test_gather_unknown_failure_is_reported_not_raised():
    facts = gather_smi(Runner(rc=2, stderr='Field "compute_cap" is not a valid field to query.'), None)
    assert facts["present"] is False and "compute_cap" in facts["reason"]
    assert facts["reboot_required"] is False


# --- gather(): the NVML backend, with a stand-in for pynvml built from the captures -------------

class FakeNVMLError(Exception):
    def __init__(self, value):
        super().__init__("NVML error %d" % value)
        self.value = value


class FakePciInfo:
    def __init__(self, bus_id):
        self.busId = bus_id  # noqa: N815 - pynvml's attribute name


class FakeMemory:
    def __init__(self, total):
        self.total = total


class FakeNvml:
    """The pynvml calls probe_nvml makes, answering with one captured GPU (or copies of it)."""

    NVMLError = FakeNVMLError
    NVML_ERROR_NOT_SUPPORTED = 3

    def __init__(self, xml_gpu, nvml_capture, count=1, init_error=None, mig_supported=True):
        self.xml, self.cap, self.count = xml_gpu, nvml_capture, count
        self.init_error, self.mig_supported = init_error, mig_supported
        self.shutdowns = 0

    def nvmlInit(self):  # noqa: N802 - pynvml names follow
        if self.init_error:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self):  # noqa: N802
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self):  # noqa: N802
        return self.cap["driver"]

    def nvmlSystemGetCudaDriverVersion(self):  # noqa: N802
        return self.cap["cuda"]

    def nvmlDeviceGetCount(self):  # noqa: N802
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index):  # noqa: N802
        return index

    def nvmlDeviceGetIndex(self, handle):  # noqa: N802
        return handle

    def nvmlDeviceGetName(self, handle):  # noqa: N802
        return self.cap["name"]

    def nvmlDeviceGetUUID(self, handle):  # noqa: N802
        return self.cap["uuid"]

    def nvmlDeviceGetPciInfo(self, handle):  # noqa: N802
        return FakePciInfo(self.xml["pci_bus_id"].encode())  # older pynvml returns bytes

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802
        return FakeMemory(self.xml["memory_total_mib"] * 1024 * 1024)

    def nvmlDeviceGetCudaComputeCapability(self, handle):  # noqa: N802
        return self.cap["cc"]

    def nvmlDeviceGetMigMode(self, handle):  # noqa: N802
        if not self.mig_supported:
            raise FakeNVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return [int(self.xml["mig_mode_current"]), int(self.xml["mig_mode_pending"])]

    def nvmlDeviceGetEccMode(self, handle):  # noqa: N802
        return [int(self.xml["ecc_mode"]), int(self.xml["ecc_mode"])]

    def nvmlDeviceGetPersistenceMode(self, handle):  # noqa: N802
        return int(self.xml["persistence_mode"])


def test_auto_without_nvidia_smi_asks_nvml_and_matches_nvidia_smi_backend(xml_gpu, nvml_capture):
    proc = read(H100 / "proc-driver-nvidia-version.txt")
    nvml = FakeNvml(xml_gpu, nvml_capture)
    runner = Runner()
    by_nvml = nvidia_gpu.gather(runner, None, lambda: proc, backend="auto", nvml=nvml)
    assert runner.calls == []
    assert nvml.shutdowns == 1
    by_smi = gather_smi(Runner(stdout=read(H100 / "query-gpu-noheader.csv")), proc, cuda=nvml_capture["cuda"])
    assert by_nvml["backend"] == "nvml"
    assert {k: v for k, v in by_nvml.items() if k != "backend"} == {k: v for k, v in by_smi.items() if k != "backend"}


def test_auto_prefers_nvidia_smi_over_an_importable_nvml(xml_gpu, nvml_capture):
    runner = Runner(stdout=read(H100 / "query-gpu-noheader.csv"))
    facts = nvidia_gpu.gather(runner, "/usr/bin/nvidia-smi", lambda: None, backend="auto",
                              nvml=FakeNvml(xml_gpu, nvml_capture), cuda_loader=lambda name: FakeLibcuda(13000))
    assert len(runner.calls) == 1 and facts["backend"] == "nvidia-smi"


@pytest.mark.parametrize("backend, nvidia_smi, expected", [
    ("auto", "/usr/bin/nvidia-smi", False),
    ("auto", None, True),
    ("nvml", "/usr/bin/nvidia-smi", True),
    ("nvidia-smi", None, False),
])
def test_uses_nvml(backend, nvidia_smi, expected):
    assert nvidia_gpu.uses_nvml(backend, nvidia_smi) is expected


def test_nvml_backend_mig_not_supported(xml_gpu, nvml_capture):
    nvml = FakeNvml(xml_gpu, nvml_capture, count=2, mig_supported=False)
    facts = nvidia_gpu.gather(Runner(), None, lambda: None, nvml=nvml)
    assert facts["gpu_count"] == 2
    assert facts["gpus"][1]["mig_mode_current"] is None and facts["gpus"][1]["mig_mode_pending"] is None


@pytest.mark.parametrize("code, reboot, text", [
    (nvidia_gpu.NVML_ERROR_DRIVER_NOT_LOADED, True, "not loaded"),
    (nvidia_gpu.NVML_ERROR_LIB_RM_VERSION_MISMATCH, True, "differ"),
    (nvidia_gpu.NVML_ERROR_LIBRARY_NOT_FOUND, False, "libnvidia-ml"),
    (999, False, "NVML error 999"),
])
def test_nvml_backend_init_failures(xml_gpu, nvml_capture, code, reboot, text):
    nvml = FakeNvml(xml_gpu, nvml_capture, init_error=code)
    runner = Runner()
    facts = nvidia_gpu.gather(runner, "/usr/bin/nvidia-smi", lambda: None, backend="nvml", nvml=nvml)
    assert runner.calls == []
    assert facts["present"] is False and text in facts["reason"]
    assert facts["reboot_required"] is reboot


def test_load_pynvml(monkeypatch):
    binding = object()
    monkeypatch.setitem(sys.modules, "pynvml", binding)
    assert nvidia_gpu.load_pynvml() is binding
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes the import raise ImportError
    assert nvidia_gpu.load_pynvml() is None


# --- the second card, captured by tests/gpu/run.sh: nvidia-smi against NVML's own answers --------

@pytest.fixture(scope="module")
def card2_nvml():
    return json.loads(read(CARD2 / "nvml-raw.json"))


class RecordedNvml(FakeNvml):
    """pynvml answering with the values nvidia-ml-py returned on the real card (nvml-raw.json)."""

    def __init__(self, raw):  # pylint: disable=super-init-not-called
        self.raw, self.count, self.init_error, self.shutdowns = raw, len(raw["devices"]), None, 0

    def answer(self, handle, name):
        return self.raw["devices"][handle][name]

    def nvmlSystemGetDriverVersion(self):  # noqa: N802
        return self.raw["nvmlSystemGetDriverVersion"]

    def nvmlSystemGetCudaDriverVersion(self):  # noqa: N802
        return self.raw["nvmlSystemGetCudaDriverVersion"]

    def nvmlDeviceGetIndex(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetIndex")

    def nvmlDeviceGetName(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetName")

    def nvmlDeviceGetUUID(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetUUID")

    def nvmlDeviceGetPciInfo(self, handle):  # noqa: N802
        return FakePciInfo(self.answer(handle, "nvmlDeviceGetPciInfo")["busId"])

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802
        return FakeMemory(self.answer(handle, "nvmlDeviceGetMemoryInfo")["total"])

    def nvmlDeviceGetCudaComputeCapability(self, handle):  # noqa: N802
        return tuple(self.answer(handle, "nvmlDeviceGetCudaComputeCapability"))

    def nvmlDeviceGetMigMode(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetMigMode")

    def nvmlDeviceGetEccMode(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetEccMode")

    def nvmlDeviceGetPersistenceMode(self, handle):  # noqa: N802
        return self.answer(handle, "nvmlDeviceGetPersistenceMode")


def test_card2_query_matches_nvml(card2_nvml):
    driver, gpus = nvidia_gpu.parse_query_csv(read(CARD2 / "query-gpu-noheader.csv"))
    assert driver == card2_nvml["nvmlSystemGetDriverVersion"]
    assert len(gpus) == len(card2_nvml["devices"])
    raw, gpu = card2_nvml["devices"][0], gpus[0]
    assert gpu["index"] == raw["nvmlDeviceGetIndex"]
    assert gpu["name"] == raw["nvmlDeviceGetName"]
    assert gpu["uuid"] == raw["nvmlDeviceGetUUID"]
    assert gpu["pci_bus_id"] == raw["nvmlDeviceGetPciInfo"]["busId"]
    assert gpu["memory_total_mib"] == raw["nvmlDeviceGetMemoryInfo"]["total"] // 2 ** 20
    assert gpu["compute_capability"] == "%d.%d" % tuple(raw["nvmlDeviceGetCudaComputeCapability"])
    assert gpu["mig_mode_current"] is bool(raw["nvmlDeviceGetMigMode"][0])
    assert gpu["ecc_mode"] is bool(raw["nvmlDeviceGetEccMode"][0])
    assert gpu["persistence_mode"] is bool(raw["nvmlDeviceGetPersistenceMode"])


def test_card2_both_backends_agree(card2_nvml):
    by_nvml = nvidia_gpu.gather(Runner(), None, lambda: None, backend="nvml", nvml=RecordedNvml(card2_nvml))
    cuda = card2_nvml["nvmlSystemGetCudaDriverVersion"]
    by_smi = gather_smi(Runner(stdout=read(CARD2 / "query-gpu-noheader.csv")), None, cuda=cuda)
    assert by_nvml["present"] is True and by_nvml["gpu_count"] == len(card2_nvml["devices"])
    assert {k: v for k, v in by_nvml.items() if k != "backend"} == {k: v for k, v in by_smi.items() if k != "backend"}


def test_card2_every_queried_field_exists_in_driver_580():
    documented = set(re.findall(r'^"([^"]+)"', read(CARD2 / "help-query-gpu.txt"), re.MULTILINE))
    assert set(nvidia_gpu.QUERY_FIELDS) <= documented


def test_card2_invalid_field_is_reported():
    rc, output = read(CARD2 / "invalid-field.txt").split("\n", 1)
    facts = gather_smi(Runner(rc=int(rc), stdout=output), read(H100 / "proc-driver-nvidia-version.txt"))
    assert facts["present"] is False and output.splitlines()[0] in facts["reason"]
    assert facts["reboot_required"] is False and facts["driver_mismatch"] is False


# --- Fabric Manager: NVSwitches on the PCI tree --------------------------------------------------

FABRIC_MIG = FIXTURES / "h100-driver-580.159.04-fabric-mig"


def sysfs_from_capture(path, root):
    """Rebuild a /sys/bus/pci/devices tree from a '<address> <vendor> <device> <class>' capture."""
    for line in read(path).splitlines():
        if line.startswith("rc="):
            continue
        address, vendor, device, klass = line.split()
        entry = root / address
        entry.mkdir(parents=True)
        for name, value in (("vendor", vendor), ("device", device), ("class", klass)):
            (entry / name).write_text(value + "\n")
    return str(root)


def test_fabric_manager_not_needed_on_the_passed_through_h100(tmp_path):
    devices = nvidia_gpu.read_pci_devices(sysfs_from_capture(FABRIC_MIG / "sysfs-pci-devices.txt", tmp_path))
    # The capture's own nvidia-smi agrees: one GPU at that address, PCI device 0x2330 (H100 SXM5), fabric N/A.
    fabric = list(csv.DictReader(read(FABRIC_MIG / "query-fabric-mig.csv").splitlines()[:-1], skipinitialspace=True))
    assert [row["fabric.state"] for row in fabric] == ["N/A"]
    assert "0x233010DE" in read(FABRIC_MIG / "nvidia-smi-q.txt")
    assert list(devices) == [fabric[0]["pci.bus_id"][4:].lower()]
    assert devices[list(devices)[0]]["device"] == "0x2330"
    gpus, switches, required, reason = nvidia_gpu.fabric_manager_verdict(devices)
    assert (gpus, switches, required) == (1, 0, False)
    assert reason.startswith("no NVSwitch on the PCI bus (1 NVIDIA GPU(s), 0 NVSwitches)")
    assert "passed through without their baseboard's switches" in reason and "not needed" in reason


def test_fabric_manager_needed_on_a_handwritten_hgx_h100(tmp_path):
    devices = nvidia_gpu.read_pci_devices(
        sysfs_from_capture(HANDWRITTEN / "hgx-h100-8gpu-sysfs-pci-devices.txt", tmp_path))
    gpus, switches, required, reason = nvidia_gpu.fabric_manager_verdict(devices)
    assert (gpus, switches, required) == (8, 4, True)
    assert reason.startswith("4 NVSwitch(es) on the PCI bus (device 0x22a3) beside 8 NVIDIA GPU(s)")
    # The Mellanox NIC and the Intel host bridge are not NVIDIA devices.
    assert len(devices) == 12


@pytest.mark.parametrize("devices, expected", [
    (None, (0, 0, False)),
    ({}, (0, 0, False)),
    ({"0000:01:00.0": {"vendor": "0x10de", "device": "0x2330", "class": "0x030200"},
      "0000:01:00.1": {"vendor": "0x10de", "device": "0x22ba", "class": "0x040300"}}, (1, 0, False)),
    ({"0000:07:00.0": {"vendor": "0x10de", "device": "0x1af1", "class": "0x068000"},
      "0000:07:00.1": {"vendor": "0x10de", "device": "0x20b2", "class": "0x030200"}}, (1, 1, True)),
    ({"0000:07:00.0": {"vendor": "0x10de", "device": "0x1af1", "class": "0x060400"}}, (0, 0, False)),
])
def test_fabric_manager_verdict_table(devices, expected):
    # A GPU's audio function (0x0403) is no GPU; a PCI-to-PCI bridge (0x0604) is no NVSwitch.
    assert nvidia_gpu.fabric_manager_verdict(devices)[:3] == expected


def test_read_pci_devices_without_sysfs(tmp_path):
    assert nvidia_gpu.read_pci_devices(str(tmp_path / "missing")) is None
    assert "could not be read" in nvidia_gpu.fabric_manager_verdict(None)[3]


def test_gather_reports_fabric_manager_even_without_a_driver(tmp_path):
    devices = nvidia_gpu.read_pci_devices(
        sysfs_from_capture(HANDWRITTEN / "hgx-h100-8gpu-sysfs-pci-devices.txt", tmp_path))
    runner = Runner()
    facts = nvidia_gpu.gather(runner, None, lambda: None, backend="nvidia-smi", pci_devices=devices)
    assert runner.calls == []
    assert facts["present"] is False
    assert (facts["pci_gpu_count"], facts["nvswitch_count"], facts["fabric_manager_required"]) == (8, 4, True)
