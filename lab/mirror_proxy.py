"""STAND-IN for a site's forward HTTP proxy (Squid and the like) in front of an internal package mirror.

Hosts that reach their NVIDIA mirror only through a proxy send it absolute-URI requests
(``GET http://nvidia-mirror.example.internal/InRelease``). This proxy answers those for one
hostname from a local directory, refuses every other host with 502 as a proxy without a route
would, and logs each request, so a test can show that a host's package manager went through it.
The mirror's hostname need not resolve anywhere: only the proxy makes it reachable.

    python -m lab.mirror_proxy start --root DIR --hostname NAME --state-dir DIR   prints the port
    python -m lab.mirror_proxy stop --state-dir DIR
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def serve(root: Path, hostname: str, bind: str, port_file: Path, log_file: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, body: bool) -> None:
            url = urlsplit(self.path)
            target = (root / unquote(url.path).lstrip("/")).resolve()
            if url.hostname != hostname:
                status, data = 502, f"lab mirror proxy: no route to {url.hostname or 'a relative URL'}\n".encode()
            elif root.resolve() not in (target, *target.parents) or not target.is_file():
                status, data = 404, b"not found\n"
            else:
                status, data = 200, target.read_bytes()
            with open(log_file, "a", encoding="utf-8") as log:
                log.write(f"{self.command} {self.path} {status}\n")
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server's method names)
            self._answer(body=True)

        def do_HEAD(self):  # noqa: N802
            self._answer(body=False)

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            """Requests go to the log file, not to stderr."""

    server = ThreadingHTTPServer((bind, 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.mirror_proxy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("start")
    p.add_argument("--root", required=True, help="the mirror's files")
    p.add_argument("--hostname", required=True, help="the mirror's hostname in the URLs hosts ask for")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--bind", default="0.0.0.0", help="address to listen on (the containers reach the host's bridge)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p = sub.add_parser("stop")
    p.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    state = Path(args.state_dir)
    pid_file, port_file, log_file = state / "proxy.pid", state / "proxy.port", state / "proxy.log"
    if args.action == "stop":
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            pid_file.unlink()
        return 0
    if args.serve:
        serve(Path(args.root), args.hostname, args.bind, port_file, log_file)
        return 0
    state.mkdir(parents=True, exist_ok=True)
    port_file.unlink(missing_ok=True)
    log_file.write_text("")
    # The server outlives this command, so no context manager waits for it.
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "lab.mirror_proxy", "start", "--serve", "--root", args.root, "--hostname", args.hostname,
         "--state-dir", args.state_dir, "--bind", args.bind],
        start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + 10
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            print("the lab mirror proxy did not start", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(port_file.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
