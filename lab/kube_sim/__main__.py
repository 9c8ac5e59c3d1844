"""Run the simulated Kubernetes API server.

    python -m lab.kube_sim [serve] --state-dir DIR [options]   run in the foreground
    python -m lab.kube_sim start --state-dir DIR [options]     run in the background; return once /readyz answers
    python -m lab.kube_sim stop --state-dir DIR                stop the background server

The server writes DIR/kubeconfig (or --kubeconfig), DIR/ca.crt and DIR/server.json (url, pid).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_SEED = HERE / "nodes.yaml"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.kube_sim", description=__doc__.splitlines()[0])
    parser.add_argument("action", nargs="?", choices=("serve", "start", "stop"), default="serve")
    parser.add_argument("--state-dir", required=True, help="where the kubeconfig, certificates, pid and log go")
    parser.add_argument("--kubeconfig", help="kubeconfig path to write (default: STATE_DIR/kubeconfig)")
    parser.add_argument("--k8s-version", default="1.33", help="Kubernetes minor version whose API schemas are enforced")
    parser.add_argument("--nodes", default=str(DEFAULT_SEED), help="seed file listing the simulated nodes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--insecure-http", action="store_true", help="serve plain HTTP without TLS (bearer token still required)")
    parser.add_argument("--no-controllers", action="store_true", help="start with the simulated controllers switched off")
    parser.add_argument("--pod-ready-seconds", type=float, default=1.0, help="how long a scheduled pod takes to become ready")
    parser.add_argument("--job-seconds", type=float, default=1.0, help="how long a ready Job pod runs before it succeeds")
    parser.add_argument("--crash-seconds", type=float, default=5.0, help="time between restarts of a crash-looping pod")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="start: how long to wait for /readyz")
    return parser.parse_args(argv)


def _paths(args) -> dict[str, str]:
    state = os.path.abspath(args.state_dir)
    return {"state": state, "kubeconfig": os.path.abspath(args.kubeconfig or os.path.join(state, "kubeconfig")),
            "info": os.path.join(state, "server.json"), "log": os.path.join(state, "kube_sim.log"),
            "pid": os.path.join(state, "kube_sim.pid")}


def serve(args) -> int:
    # Imported here so that `stop` works without the server's dependencies loaded.
    from .controllers import load_seed  # pylint: disable=import-outside-toplevel
    from .server import Simulator  # pylint: disable=import-outside-toplevel
    from .tls import make_certificates, new_token, write_kubeconfig  # pylint: disable=import-outside-toplevel

    paths = _paths(args)
    os.makedirs(paths["state"], mode=0o700, exist_ok=True)
    for stale in (paths["info"],):
        if os.path.exists(stale):
            os.unlink(stale)
    seeds = load_seed(args.nodes)
    token = new_token()
    sim = Simulator(args.k8s_version, seeds, token, controllers=not args.no_controllers,
                    timings={"pod_ready_seconds": args.pod_ready_seconds, "job_seconds": args.job_seconds,
                             "crash_seconds": args.crash_seconds})
    faults = os.environ.get("KUBE_SIM_FAULTS")
    if faults:
        sim.faults.set(json.loads(faults))
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    context = None
    ca_pem = None
    if not args.insecure_http:
        ca_pem, cert, key = make_certificates(paths["state"], args.host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    url = f"{'http' if args.insecure_http else 'https'}://{host}:{port}"
    write_kubeconfig(paths["kubeconfig"], url, token, ca_pem)
    print(f"kube_sim: simulated cluster, NOT a real Kubernetes API server: Kubernetes {args.k8s_version} API schemas, "
          f"{len(seeds)} simulated nodes, controllers {'off' if args.no_controllers else 'on'}", flush=True)
    print(f"kube_sim: serving {url}; kubeconfig {paths['kubeconfig']}", flush=True)

    async def main() -> None:
        runner = web.AppRunner(sim.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.SockSite(runner, sock, ssl_context=context)
        await site.start()
        with open(paths["info"] + ".tmp", "w", encoding="utf-8") as handle:
            json.dump({"url": url, "pid": os.getpid(), "kubeconfig": paths["kubeconfig"],
                       "ca": os.path.join(paths["state"], "ca.crt") if ca_pem else None}, handle)
        os.replace(paths["info"] + ".tmp", paths["info"])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())
    if os.path.exists(paths["info"]):
        os.unlink(paths["info"])
    print("kube_sim: simulated cluster stopped", flush=True)
    return 0


def wait_ready(url: str, ca: str | None, deadline: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll /readyz until it answers ok."""
    context = ssl.create_default_context(cafile=ca) if ca else None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/readyz", context=context, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def start(args) -> int:
    paths = _paths(args)
    os.makedirs(paths["state"], mode=0o700, exist_ok=True)
    if _running_pid(paths):
        print(f"kube_sim: already running (pid file {paths['pid']}); stop it first", file=sys.stderr)
        return 1
    if os.path.exists(paths["info"]):
        os.unlink(paths["info"])
    forward = ["--state-dir", paths["state"], "--kubeconfig", paths["kubeconfig"], "--k8s-version", args.k8s_version,
               "--nodes", os.path.abspath(args.nodes), "--host", args.host, "--port", str(args.port),
               "--pod-ready-seconds", str(args.pod_ready_seconds), "--job-seconds", str(args.job_seconds),
               "--crash-seconds", str(args.crash_seconds)]
    forward += ["--insecure-http"] * args.insecure_http + ["--no-controllers"] * args.no_controllers
    with open(paths["log"], "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lab.kube_sim", "serve", *forward], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    with open(paths["pid"], "w", encoding="utf-8") as handle:
        handle.write(str(proc.pid))
    deadline = time.monotonic() + args.start_timeout
    while not os.path.exists(paths["info"]) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    info = json.loads(Path(paths["info"]).read_text(encoding="utf-8")) if os.path.exists(paths["info"]) else None
    if info is None or not wait_ready(info["url"], info["ca"], deadline, proc):
        print(f"kube_sim: the simulator did not become ready; its log is {paths['log']}:", file=sys.stderr)
        print(Path(paths["log"]).read_text(encoding="utf-8", errors="replace")[-3000:], file=sys.stderr)
        _terminate(proc.pid)
        os.unlink(paths["pid"])
        return 1
    print(f"kube_sim: simulated cluster (not a real Kubernetes API server) ready at {info['url']} (pid {proc.pid}); "
          f"kubeconfig {info['kubeconfig']}")
    return 0


def _running_pid(paths) -> int | None:
    try:
        pid = int(Path(paths["pid"]).read_text(encoding="utf-8").strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _terminate(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def stop(args) -> int:
    paths = _paths(args)
    pid = _running_pid(paths)
    if pid is None:
        print("kube_sim: not running")
    else:
        _terminate(pid)
        print(f"kube_sim: stopped pid {pid}")
    for path in (paths["pid"], paths["info"]):
        if os.path.exists(path):
            os.unlink(path)
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.action == "start":
        return start(args)
    if args.action == "stop":
        return stop(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
