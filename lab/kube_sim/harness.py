"""Start a simulator in a child process for tests and talk to its admin API (/_sim/...)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from .__main__ import ROOT, wait_ready


@dataclass
class KubeSim:
    url: str
    kubeconfig: str
    token: str
    ca: str | None
    state_dir: str
    proc: subprocess.Popen

    def admin(self, method: str, path: str, body=None):
        """Call an admin endpoint; returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca) if self.ca else None
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read())

    def set_faults(self, *rules: dict) -> dict:
        return self.admin("POST", "/_sim/faults", {"rules": list(rules)})

    def clear_faults(self) -> None:
        self.admin("DELETE", "/_sim/faults")

    def requests(self, reset: bool = False) -> dict:
        return self.admin("DELETE" if reset else "GET", "/_sim/requests")

    def reset(self) -> None:
        """Back to the seeded cluster: no objects but the nodes and system namespaces, no faults."""
        self.admin("POST", "/_sim/reset")

    def dynamic_client(self):
        from kubernetes import config, dynamic  # pylint: disable=import-outside-toplevel
        return dynamic.DynamicClient(config.new_client_from_config(config_file=self.kubeconfig))

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "a condition"):
        """Poll ``predicate`` until it returns something truthy; fail naming ``what`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(state_dir: str, *args: str, timeout: float = 60.0, env: dict | None = None) -> KubeSim:
    """Run ``python -m lab.kube_sim serve`` on a free port with its state in ``state_dir``."""
    os.makedirs(state_dir, exist_ok=True)
    info_path = Path(state_dir, "server.json")
    log = open(Path(state_dir, "kube_sim.log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([sys.executable, "-m", "lab.kube_sim", "serve", "--state-dir", state_dir, "--port", "0", *args],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    log.close()
    deadline = time.monotonic() + timeout
    while not info_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"kube_sim did not start: {Path(state_dir, 'kube_sim.log').read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    info = json.loads(info_path.read_text())
    if not wait_ready(info["url"], info["ca"], deadline, proc):
        proc.kill()
        raise RuntimeError("kube_sim did not answer /readyz")
    kubeconfig = yaml.safe_load(Path(info["kubeconfig"]).read_text())
    token = kubeconfig["users"][0]["user"]["token"]
    return KubeSim(info["url"], info["kubeconfig"], token, info["ca"], state_dir, proc)
