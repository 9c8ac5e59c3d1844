"""python -m lab.model_server build DIR | start DIR --state-dir D [--port N] | stop --state-dir D

Every command runs in its own process, so torch is never imported into a process that has loaded
Ansible (ansible-core patches sys.intern, which torch's compiler refuses).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from lab.model_server import build, serve


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
