"""Report the real state verify.yml asserts on, as one JSON document (runs on the test host)."""

import datetime
import json
import os
import subprocess
import tomllib


def run(*args):
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return {"rc": done.returncode, "out": done.stdout, "err": done.stderr}


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


dump = run("containerd", "config", "dump")
started = run("systemctl", "show", "--property=ActiveEnterTimestamp", "--value", "containerd")["out"].strip()
started_at = datetime.datetime.strptime(started, "%a %Y-%m-%d %H:%M:%S %Z").replace(tzinfo=datetime.timezone.utc)
drop_in = "/etc/containerd/conf.d/99-nvidia.toml"
crio = read("/etc/crio/crio.conf.d/99-nvidia.toml")
print(json.dumps({
    "dump_rc": dump["rc"],
    "dump_err": dump["err"],
    "dump": tomllib.loads(dump["out"]) if dump["rc"] == 0 else None,
    "config_toml": read("/etc/containerd/config.toml"),
    "containerd_active": run("systemctl", "is-active", "containerd")["out"].strip(),
    "containerd_started": started_at.timestamp(),
    "drop_in_written": os.stat(drop_in).st_mtime if os.path.exists(drop_in) else None,
    "crio_drop_in": tomllib.loads(crio) if crio is not None else None,
    "daemon_json": json.loads(read("/etc/docker/daemon.json") or "null"),
    "packages": run("dpkg-query", "-W", "-f", "${Package}=${Version}\\n", "nvidia-container-toolkit",
                    "nvidia-container-toolkit-base", "libnvidia-container-tools", "libnvidia-container1")["out"].split(),
    "runtime_executable": os.access("/usr/bin/nvidia-container-runtime", os.X_OK),
}))
