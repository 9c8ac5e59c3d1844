# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarative MIG layouts for the nvidia_mig_layout module: validate, plan, apply with nvidia-smi.

A layout maps ``all`` or a GPU index to the GPU instance profiles that GPU must hold, e.g.
``{"all": ["3g.40gb", "2g.20gb", "2g.20gb"], "1": []}``; an empty list means MIG disabled, and a GPU
the layout does not name is left as it is. Every GPU of the layout is checked against its model's
profile table before anything changes. Nothing here imports Ansible, so it is unit-tested without it.
"""

from __future__ import annotations

import re
from collections import Counter

# Profiles per GPU model, from NVIDIA's Multi-Instance GPU User Guide, "Supported MIG Profiles"
# (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html): the GPUs
# below share one geometry of 7 compute slices and 8 memory slices; profiles differ only in their
# memory size names. Each shape: (compute slices, memory slices, start slices it may be placed at,
# instances available), as that guide's tables and `nvidia-smi mig -lgipp` give them.
COMPUTE_SLICES = 7
MEMORY_SLICES = 8
_SHAPES = {
    "1g": (1, 1, (0, 1, 2, 3, 4, 5, 6), 7),
    "1g+me": (1, 1, (0, 1, 2, 3, 4, 5, 6), 1),
    "1g.2m": (1, 2, (0, 2, 4, 6), 4),
    "2g": (2, 2, (0, 2, 4), 3),
    "3g": (3, 4, (0, 4), 2),
    "4g": (4, 4, (0,), 1),
    "7g": (7, 8, (0,), 1),
}
# Profile name -> shape, per family of memory size names.
_NAMES = {
    "40gb": {"1g.5gb": "1g", "1g.5gb+me": "1g+me", "1g.10gb": "1g.2m", "2g.10gb": "2g", "3g.20gb": "3g",
             "4g.20gb": "4g", "7g.40gb": "7g"},
    "80gb": {"1g.10gb": "1g", "1g.10gb+me": "1g+me", "1g.20gb": "1g.2m", "2g.20gb": "2g", "3g.40gb": "3g",
             "4g.40gb": "4g", "7g.80gb": "7g"},
    "94gb": {"1g.12gb": "1g", "1g.12gb+me": "1g+me", "1g.24gb": "1g.2m", "2g.24gb": "2g", "3g.47gb": "3g",
             "4g.47gb": "4g", "7g.94gb": "7g"},
    "141gb": {"1g.18gb": "1g", "1g.18gb+me": "1g+me", "1g.35gb": "1g.2m", "2g.35gb": "2g", "3g.71gb": "3g",
              "4g.71gb": "4g", "7g.141gb": "7g"},
}
# Product name as nvidia-smi reports it -> name family.
MODELS = {
    "NVIDIA A100-SXM4-40GB": "40gb",
    "NVIDIA A100-PCIE-40GB": "40gb",
    "NVIDIA A100-SXM4-80GB": "80gb",
    "NVIDIA A100 80GB PCIe": "80gb",
    "NVIDIA H100 80GB HBM3": "80gb",
    "NVIDIA H100 PCIe": "80gb",
    "NVIDIA H100 NVL": "94gb",
    "NVIDIA H200": "141gb",
    "NVIDIA H200 NVL": "141gb",
}

GPU_QUERY_ARGS = ("--query-gpu=index,name,uuid,mig.mode.current,mig.mode.pending", "--format=csv,noheader")
APPS_QUERY_ARGS = ("--query-compute-apps=gpu_uuid,pid,process_name", "--format=csv,noheader")
# `nvidia-smi mig -lgi` / `-lci` table rows: GPU, [GPU instance,] "MIG <profile>", profile id, instance id, start:size.
_GI_ROW = re.compile(r"^\|\s+(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s+\|")
_CI_ROW = re.compile(r"^\|\s+(\d+)\s+(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s+\|")
# What nvidia-smi says instead of a table when there is nothing to list.
_NOTHING_LISTED = ("no gpu instances found", "no compute instances found", "no mig-enabled devices found")


class MigLayoutError(Exception):
    """Raised with a 'Failed to ...' message; nothing was changed unless the message says so."""


def profiles_of(model):
    """{profile name: shape} of a GPU model, or None when this module does not know the model."""
    family = MODELS.get(model)
    return None if family is None else dict(_NAMES[family])


def place(profiles, table):
    """Memory-slice placements [(profile, start)] for a list of profile names, or None if they do not fit.

    Depth-first over the allowed starts, largest profiles first: nvidia-smi's own first-fit order
    can strand memory slices (a 1g created before a 4g takes slice 0, the only start a 4g has).
    """
    order = sorted(profiles, key=lambda p: (-_SHAPES[table[p]][1], -_SHAPES[table[p]][0], p))
    used = [False] * MEMORY_SLICES
    placed = []

    def search(i):
        if i == len(order):
            return True
        _compute, size, starts, _count = _SHAPES[table[order[i]]]
        for start in starts:
            span = range(start, start + size)
            if start + size <= MEMORY_SLICES and not any(used[s] for s in span):
                for s in span:
                    used[s] = True
                placed.append((order[i], start))
                if search(i + 1):
                    return True
                placed.pop()
                for s in span:
                    used[s] = False
        return False

    return sorted(placed, key=lambda item: item[1]) if search(0) else None


def check_profiles(model, profiles):
    """Problems (strings) with holding `profiles` on one GPU of `model`; [] when it can."""
    table = profiles_of(model)
    if table is None:
        return ["GPU model %r has no MIG profile table here (known: %s)" % (model, ", ".join(sorted(MODELS)))]
    unknown = sorted(set(p for p in profiles if p not in table))
    if unknown:
        return ["%s has no profile %s (its profiles: %s)" % (model, ", ".join(unknown), ", ".join(table))]
    problems = []
    for name, count in sorted(Counter(profiles).items()):
        available = _SHAPES[table[name]][3]
        if count > available:
            problems.append("%s holds at most %d x %s, %d asked" % (model, available, name, count))
    compute = sum(_SHAPES[table[p]][0] for p in profiles)
    memory = sum(_SHAPES[table[p]][1] for p in profiles)
    if compute > COMPUTE_SLICES:
        problems.append("the profiles need %d compute slices, %s has %d" % (compute, model, COMPUTE_SLICES))
    if memory > MEMORY_SLICES:
        problems.append("the profiles need %d memory slices, %s has %d" % (memory, model, MEMORY_SLICES))
    if not problems and place(profiles, table) is None:
        problems.append("no placement of these profiles fits the %d memory slices (each profile may start only "
                        "at the slices NVIDIA allows for it)" % MEMORY_SLICES)
    return problems


def desired_by_index(layout, gpu_indexes):
    """{GPU index: [profiles]} from a layout, a named index overriding ``all``; raises on bad keys."""
    if not isinstance(layout, dict):
        raise MigLayoutError("Failed to read the layout: expected a mapping of 'all' or GPU indexes to profile lists")
    desired = {}
    explicit = {}
    for key, profiles in layout.items():
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            raise MigLayoutError("Failed to read the layout: %r must map to a list of profile names, got %r" % (key, profiles))
        if str(key) == "all":
            desired.update((index, list(profiles)) for index in gpu_indexes)
        elif str(key).isdigit():
            if int(key) not in gpu_indexes:
                raise MigLayoutError("Failed to read the layout: it names GPU %s, but the host has GPUs %s"
                                     % (key, sorted(gpu_indexes)))
            explicit[int(key)] = list(profiles)
        else:
            raise MigLayoutError("Failed to read the layout: key %r is neither 'all' nor a GPU index" % (key,))
    desired.update(explicit)
    return desired


def parse_gpus(text):
    """[{index, name, uuid, mig_mode_current, mig_mode_pending}] from GPU_QUERY_ARGS output."""
    gpus = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 5 or not cells[0].isdigit():
            raise MigLayoutError("Failed to read nvidia-smi's GPU line %r" % line)
        gpus.append({
            "index": int(cells[0]), "name": cells[1], "uuid": cells[2],
            "mig_mode_current": cells[3] == "Enabled", "mig_mode_pending": cells[4] == "Enabled",
            "mig_capable": cells[3] in ("Enabled", "Disabled"),
        })
    return gpus


def parse_gpu_instances(text):
    """{GPU index: [{profile, id, start, size}]} from `nvidia-smi mig -lgi`."""
    found = {}
    for line in (text or "").splitlines():
        match = _GI_ROW.match(line)
        if match:
            gpu, profile, _pid, gi, start, size = match.groups()
            found.setdefault(int(gpu), []).append(
                {"profile": profile, "id": int(gi), "start": int(start), "size": int(size)})
    return found


def parse_compute_instances(text):
    """{(GPU index, GPU instance id): [compute instance profile names]} from `nvidia-smi mig -lci`."""
    found = {}
    for line in (text or "").splitlines():
        match = _CI_ROW.match(line)
        if match:
            gpu, gi, profile = match.group(1), match.group(2), match.group(3)
            found.setdefault((int(gpu), int(gi)), []).append(profile)
    return found


def parse_apps(text):
    """{GPU uuid: ['pid name', ...]} from APPS_QUERY_ARGS output."""
    apps = {}
    for line in (text or "").splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) >= 2 and cells[1].isdigit():
            apps.setdefault(cells[0], []).append(" ".join(cells[1:]))
    return apps


def instances_of(gpu, gpu_instances, compute_instances):
    """The GPU's instances as profile names, in placement order; None when one is not fully usable.

    Usable means one compute instance spanning the GPU instance (what `-cgi ... -C` makes): the
    device plugin exposes each compute instance, so a split or missing one is not this layout.
    """
    names = []
    complete = True
    for gi in sorted(gpu_instances.get(gpu["index"], []), key=lambda g: g["start"]):
        names.append(gi["profile"])
        if compute_instances.get((gpu["index"], gi["id"])) != [gi["profile"]]:
            complete = False
    return names, complete


def device_plugin_strategy(final):
    """none / single / mixed, as NVIDIA's device plugin means them, for {index: [profiles] or None}.

    None stands for a GPU without MIG. single needs every GPU of the node in MIG mode with one
    profile throughout; anything else with MIG instances is mixed.
    """
    layouts = list(final.values())
    if not any(layouts):
        return "none"
    if all(layouts) and len(set(p for profiles in layouts for p in profiles)) == 1:
        return "single"
    return "mixed"


def plan(gpus, gpu_instances, compute_instances, desired):
    """Per GPU: what it holds, what it must hold and the nvidia-smi mig steps in between.

    Raises before any change when a GPU of the layout cannot hold its profiles.
    """
    problems = []
    for gpu in gpus:
        if desired.get(gpu["index"]):
            if not gpu["mig_capable"]:
                problems.append("GPU %d (%s) does not support MIG" % (gpu["index"], gpu["name"]))
            else:
                problems += ["GPU %d: %s" % (gpu["index"], p) for p in check_profiles(gpu["name"], desired[gpu["index"]])]
    if problems:
        raise MigLayoutError("Failed to accept the MIG layout, nothing was changed: " + "; ".join(problems))

    steps = []
    for gpu in gpus:
        index = gpu["index"]
        held, complete = instances_of(gpu, gpu_instances, compute_instances)
        want = desired.get(index)
        step = {
            "index": index, "name": gpu["name"], "uuid": gpu["uuid"],
            "mig_mode_current": gpu["mig_mode_current"], "mig_mode_pending": gpu["mig_mode_pending"],
            "before": held if gpu["mig_mode_current"] else None,
            "after": None, "placements": [], "actions": [], "managed": want is not None,
            "reset_required": gpu["mig_mode_current"] != gpu["mig_mode_pending"],
        }
        steps.append(step)
        if want is None:
            step["after"] = step["before"]
            continue
        if not want:
            if held:
                step["actions"] += ["destroy_compute_instances", "destroy_gpu_instances"]
            if gpu["mig_mode_pending"]:
                step["actions"].append("disable_mig")
            continue
        table = profiles_of(gpu["name"])
        step["placements"] = place(want, table)
        step["after"] = [name for name, _start in step["placements"]]
        if not gpu["mig_mode_pending"]:
            step["actions"].append("enable_mig")
        if complete and Counter(held) == Counter(want) and gpu["mig_mode_current"]:
            step["after"], step["placements"] = held, []
            continue
        if gpu["mig_mode_current"]:
            if held:
                step["actions"] += ["destroy_compute_instances", "destroy_gpu_instances"]
            step["actions"].append("create_instances")
        else:
            # Instances can only be made once MIG mode is current, which may need a GPU reset.
            step["actions"].append("create_instances_after_mode_change")
    return steps


def commands(nvidia_smi, step):
    """The nvidia-smi argument lists of one GPU's actions, in order ('create_instances_after_mode_change' excluded)."""
    index = str(step["index"])
    argv = {
        "destroy_compute_instances": [nvidia_smi, "mig", "-i", index, "-dci"],
        "destroy_gpu_instances": [nvidia_smi, "mig", "-i", index, "-dgi"],
        "disable_mig": [nvidia_smi, "-i", index, "-mig", "0"],
        "enable_mig": [nvidia_smi, "-i", index, "-mig", "1"],
        "create_instances": [nvidia_smi, "mig", "-i", index, "-cgi",
                             ",".join("%s:%d" % (name, start) for name, start in step["placements"]), "-C"],
    }
    return [argv[action] for action in step["actions"] if action in argv]


def read_state(run_command, nvidia_smi):
    """(gpus, gpu_instances, compute_instances) in at most three nvidia-smi reads.

    The instance lists are read only when a GPU has MIG mode enabled now.
    """
    rc, out, err = run_command([nvidia_smi] + list(GPU_QUERY_ARGS))
    if rc != 0:
        raise MigLayoutError("Failed to read the GPUs with nvidia-smi (rc=%s): %s" % (rc, (err or out).strip()))
    gpus = parse_gpus(out)
    gpu_instances, compute_instances = {}, {}
    if any(g["mig_mode_current"] for g in gpus):
        for args, parser, target in ((["mig", "-lgi"], parse_gpu_instances, gpu_instances),
                                     (["mig", "-lci"], parse_compute_instances, compute_instances)):
            rc, out, err = run_command([nvidia_smi] + args)
            text = (out or "") + (err or "")
            if rc != 0 and not any(s in text.lower() for s in _NOTHING_LISTED):
                raise MigLayoutError("Failed to list MIG instances with nvidia-smi %s (rc=%s): %s"
                                     % (" ".join(args), rc, text.strip()))
            target.update(parser(out))
    return gpus, gpu_instances, compute_instances


def changes(step):
    """Whether a step changes its GPU now; instances that wait for a reset are no change of this run."""
    return any(action != "create_instances_after_mode_change" for action in step["actions"])


def summary(steps):
    """The module's result fields derived from the steps."""
    final = {s["index"]: s["after"] for s in steps}
    return {
        "changed": any(changes(s) for s in steps),
        "reset_required": any(s["reset_required"] for s in steps),
        "reset_required_gpus": [s["index"] for s in steps if s["reset_required"]],
        "mode_change_gpus": [s["index"] for s in steps if {"enable_mig", "disable_mig"} & set(s["actions"])],
        "device_plugin_mig_strategy": device_plugin_strategy(final),
        "gpus": steps,
    }


def diff(steps):
    """before/after texts of the managed GPUs, one line each."""
    def text(key):
        return "".join("GPU %d: %s\n" % (s["index"], "MIG disabled" if s[key] is None else ",".join(s[key]) or "MIG enabled, no instances")
                       for s in steps if s["managed"])
    return {"before": text("before"), "after": text("after")}


def _run_steps(run_command, nvidia_smi, steps, check_mode, ran):
    for step in steps:
        for argv in commands(nvidia_smi, step):
            ran.append(" ".join(argv))
            if check_mode:
                continue
            rc, out, err = run_command(argv)
            if rc != 0:
                raise MigLayoutError("Failed to run %s (rc=%s): %s. Commands run before it: %s"
                                     % (" ".join(argv), rc, ((out or "") + (err or "")).strip(), ran[:-1] or "none"))


def apply_layout(run_command, nvidia_smi, layout, check_mode):
    """Read, validate, plan and (unless check_mode) apply a layout; returns the result dictionary.

    Refuses, before any change, a layout a GPU cannot hold and any change to a GPU that runs
    processes. Never resets a GPU: a mode change that waits for a reset is reported, and the
    instances follow on the next run after the reset. Where the mode change took effect at once,
    a second pass creates the instances in the same run.
    """
    gpus, gis, cis = read_state(run_command, nvidia_smi)
    desired = desired_by_index(layout, {g["index"] for g in gpus})
    steps = plan(gpus, gis, cis, desired)
    changing = [s for s in steps if changes(s)]
    if changing:
        rc, out, err = run_command([nvidia_smi] + list(APPS_QUERY_ARGS))
        if rc != 0:
            raise MigLayoutError("Failed to list the GPUs' processes with nvidia-smi (rc=%s): %s" % (rc, (err or out).strip()))
        apps = parse_apps(out)
        busy = ["GPU %d runs %s" % (s["index"], ", ".join(apps[s["uuid"]])) for s in changing if apps.get(s["uuid"])]
        if busy:
            raise MigLayoutError("Failed to change the MIG layout, nothing was changed: %s. Drain the node "
                                 "(stop those processes) first." % "; ".join(busy))
    ran = []
    _run_steps(run_command, nvidia_smi, changing, check_mode, ran)
    result = summary(steps)
    if changing and not check_mode:
        # Report what the GPUs hold now, not what was asked: a mode change may wait for a reset.
        now = plan(*read_state(run_command, nvidia_smi), desired=desired)
        if any(commands(nvidia_smi, s) for s in now):
            _run_steps(run_command, nvidia_smi, now, False, ran)
            now = plan(*read_state(run_command, nvidia_smi), desired=desired)
        unfinished = ["GPU %d: %s" % (s["index"], ", ".join(s["actions"])) for s in now if commands(nvidia_smi, s)]
        if unfinished:
            raise MigLayoutError("Failed to verify the MIG layout after applying it, still to do: %s. Commands run: %s"
                                 % ("; ".join(unfinished), ran))
        for step, current in zip(steps, now):
            step["mig_mode_current"], step["mig_mode_pending"] = current["mig_mode_current"], current["mig_mode_pending"]
            step["reset_required"] = current["reset_required"]
        result.update({k: v for k, v in summary(steps).items() if k != "changed"})
    result["commands"] = ran
    result["diff"] = diff(steps)
    return result
