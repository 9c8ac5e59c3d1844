"""python -m lab.model_server build DIR | start DIR --state-dir D [--port N] | stop --state-dir D

Every command runs in its own process, so torch is never imported into a process that has loaded
Ansible (ansible-core patches sys.intern, which torch's compiler refuses). Commands that need the
model run in the model server's own venv, made on first use from lab/model_server/requirements.txt and
cached outside the checkout by the requirements' digest (~/.cache/hymt-gpu-mesh/model-server-venv-<digest>,
or HYMT_MODEL_SERVER_VENV): torch from PyPI is a CUDA build of several GB that nothing else here needs,
and a fresh clone (CI) reuses the venv of the same requirements instead of unpacking it again.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab.model_server import build, serve

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
# Of the requirement lines only: a reworded comment does not rebuild 5 GB.
DIGEST = hashlib.sha256("\n".join(
    line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    if line.split("#", 1)[0].strip()).encode()).hexdigest()
VENV = Path(os.environ.get("HYMT_MODEL_SERVER_VENV")
            or Path.home() / ".cache" / "hymt-gpu-mesh" / f"model-server-venv-{DIGEST[:12]}")


def ensure_venv() -> Path:
    """The model server venv's python, built when no complete venv of these requirements exists."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements-sha256"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    # Two checkouts (a CI clone and a working copy) may ask at once: one builds, the other waits.
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text() == DIGEST:
            return python
        return _build(python, stamp)


def _build(python: Path, stamp: Path) -> Path:
    started = time.monotonic()
    print(f"[model-server] building {VENV} from {REQUIREMENTS.relative_to(ROOT)} (torch is a CUDA build of "
          "several GB from PyPI; first time only)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--progress-bar", "off", "-r", str(REQUIREMENTS)],
                   check=True)
    stamp.write_text(DIGEST)
    print(f"[model-server] {VENV} ready in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return python


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.model_server")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="write the tiny model into DIR (kept when present)")
    p.add_argument("dir")
    p = sub.add_parser("start", help="build if needed, start transformers serve, wait for /health")
    p.add_argument("dir")
    p.add_argument("--state-dir", required=True, help="where model_server.json (url, pid) and the log go")
    p.add_argument("--port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p = sub.add_parser("stop", help="stop the server recorded in --state-dir")
    p.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)

    if args.command in ("build", "start") and importlib.util.find_spec("transformers") is None:
        python = ensure_venv()
        os.execve(str(python), [str(python), "-m", "lab.model_server", *(sys.argv[1:] if argv is None else argv)],
                  {**os.environ, "PYTHONPATH": str(ROOT)})

    if args.command == "build":
        print(build.build(args.dir))
    elif args.command == "start":
        state = Path(args.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        model = build.build(args.dir)
        proc, url = serve.start(model, port=args.port, host=args.host, log_path=state / "model_server.log")
        (state / "model_server.json").write_text(json.dumps({"url": url, "pid": proc.pid, "model": str(model)}))
        print(url)
    elif args.command == "stop":
        record = Path(args.state_dir) / "model_server.json"
        if record.exists():
            pid = json.loads(record.read_text())["pid"]
            try:
                # start() put the server in its own session: its pid is its process group.
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            record.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
