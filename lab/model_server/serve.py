"""Start and stop `transformers serve` on the tiny model, offline, and wait until /health answers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_command():
    # The console script sits next to the interpreter of the venv that has transformers[serving].
    script = Path(sys.executable).parent / "transformers"
    if script.exists():
        return [str(script)]
    found = shutil.which("transformers")
    if not found:
        raise RuntimeError("`transformers` is not installed: pip install torch==2.13.0 'transformers[serving]'")
    return [found]


def wait_healthy(base_url, timeout=300.0, proc=None):
    """Wait for the server's /health to answer 200 (model loading happens before that)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("transformers serve exited with %s before /health answered" % proc.returncode)
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError("transformers serve did not answer %s/health within %.0f s (last error: %s)"
                       % (base_url, timeout, last))


def start(model_dir, port=None, host="127.0.0.1", log_path=None, timeout=300.0):
    """Start the server; returns (process, base_url) once /health answers 200."""
    port = port or free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    # force_model preloads the weights, so /health means "ready to translate".
    proc = subprocess.Popen(
        _serve_command() + ["serve", str(model_dir), "--host", host, "--port", str(port),
                            "--device", "cpu", "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    base_url = "http://%s:%d" % (host, port)
    try:
        wait_healthy(base_url, timeout, proc)
    except RuntimeError:
        stop(proc)
        raise
    return proc, base_url


def stop(proc, timeout=15.0):
    """Stop the server started by start() (its whole process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
