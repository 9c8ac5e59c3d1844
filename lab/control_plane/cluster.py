"""Start and stop the lab's Kubernetes control plane: upstream etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, KWOK for the nodes, the lab's device-plugin stand-in and
the fault proxy that the product's kubeconfig points at.

State directory layout (`stop` ends the processes and keeps the rest for inspection):

    pki/               CA, serving and client certificates, service-account keys (keys 0600)
    etcd/              etcd's data
    logs/<name>.log    each process's output
    audit.log          the API server's audit log (JSON lines): the request log tests read
    kubeconfig         what the product uses: the fault proxy, bearer token of user hymt-admin
    admin.kubeconfig   the API server directly, client certificate in system:masters (lab parts)
    cluster.json       urls, ports and the pid of every process (only while it runs)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import components, pki, seed as seeds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
PRODUCT_USER = "hymt-admin"
LAB_USER = "hymt-lab"
# Component traffic stays out of the audit log: it records what clients (the product, tests) asked.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "users": ["system:kube-controller-manager", "system:kube-scheduler", "system:apiserver",
                                    LAB_USER]},
        {"level": "None", "userGroups": ["system:serviceaccounts:kube-system", "system:nodes"]},
        {"level": "None", "nonResourceURLs": ["/readyz*", "/livez*", "/healthz*", "/version"]},
        {"level": "Metadata"},
    ],
}
# Upstream KWOK stages the lab uses (files of the KWOK module, read at start): nodes become Ready at
# once and renew their Lease; pods become Ready, Jobs' pods Succeeded, deleted pods go.
KWOK_STAGES = ("kustomize/stage/node/fast/node-initialize.yaml",
               "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
               "kustomize/stage/pod/fast/pod-ready.yaml", "kustomize/stage/pod/fast/pod-complete.yaml",
               "kustomize/stage/pod/fast/pod-delete.yaml")


def say(message: str) -> None:
    print(f"[control-plane] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_kubeconfig(path: Path, server: str, ca: Path, user: dict, name: str) -> None:
    config = {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
              "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": str(ca)}}],
              "users": [{"name": name, "user": user}],
              "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chmod(path, 0o600)


class Cluster:
    """One lab control plane rooted at a state directory."""

    def __init__(self, state_dir: str | Path):
        self.state = Path(state_dir).resolve()
        self.pki = self.state / "pki"
        self.logs = self.state / "logs"
        self.record_path = self.state / "cluster.json"

    # --- record ------------------------------------------------------------------------------

    def record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save(self, record: dict) -> None:
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(self.record_path)

    # --- processes ---------------------------------------------------------------------------

    def _spawn(self, record: dict, name: str, cmd: list[str], env: dict | None = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=ROOT, start_new_session=True, env={**os.environ, **(env or {})})
        record.setdefault("pids", {})[name] = proc.pid
        self._save(record)
        return proc

    def _tail(self, name: str, lines: int = 25) -> str:
        try:
            return "\n".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait(self, what: str, name: str, proc: subprocess.Popen, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"control_plane: {name} exited with status {proc.returncode} while waiting for "
                                 f"{what}; the end of {self.logs / (name + '.log')}:\n{self._tail(name)}")
            try:
                if check():
                    return
            except (OSError, ValueError, urllib.error.URLError) as exc:
                last = exc
            time.sleep(0.2)
        raise SystemExit(f"control_plane: timed out after {timeout:.0f} s waiting for {what} (last error: {last}); "
                         f"the end of {self.logs / (name + '.log')}:\n{self._tail(name)}")

    # --- start -------------------------------------------------------------------------------

    def start(self, seed_file: str | Path = seeds.DEFAULT_SEED, pod_ready_seconds: float = 1.0,
              kubeconfig: str | Path | None = None, timeout: float = 120.0) -> dict:
        if self.running():
            raise SystemExit(f"control_plane: already running from {self.state} (stop it first)")
        nodes = seeds.load(seed_file)
        binaries = {name: components.ensure(name) for name in ("kubernetes", "etcd", "kwok")}
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        # Every start is a new cluster: what a stopped or killed one left (etcd's data, its audit log and
        # logs) would otherwise come back, with nodes and objects a test did not create.
        for stale in ("etcd", "logs", "pki"):
            shutil.rmtree(self.state / stale, ignore_errors=True)
        for stale in ("audit.log", "audit.offset", "kwok-stages.yaml"):
            (self.state / stale).unlink(missing_ok=True)
        self.pki.mkdir()
        started = time.monotonic()
        record = {"state_dir": str(self.state), "seed": str(Path(seed_file).resolve()),
                  "version": components.COMPONENTS["kubernetes"].version}
        try:
            self._start(record, binaries, nodes, pod_ready_seconds, Path(kubeconfig) if kubeconfig else None, timeout)
        except BaseException:
            self.stop(quiet=True)
            raise
        say(f"Kubernetes {record['version']} ready in {time.monotonic() - started:.0f} s at {record['url']} "
            f"({len(nodes)} KWOK nodes); kubeconfig {record['kubeconfig']}")
        return record

    def _start(self, record, binaries, nodes, pod_ready_seconds, kubeconfig, timeout) -> None:
        ca = pki.Authority(self.pki)
        ports = {"etcd": free_port(), "etcd_peer": free_port(), "apiserver": free_port(), "proxy": free_port()}
        record["ports"] = ports
        api_url = f"https://127.0.0.1:{ports['apiserver']}"
        proxy_url = f"https://127.0.0.1:{ports['proxy']}"
        record.update(api_url=api_url, url=proxy_url)
        serving = ca.issue("apiserver", "kube-apiserver", server=True, dns_names=pki.API_DNS_NAMES,
                           ips=("127.0.0.1", pki.API_SERVICE_IP))
        proxy_serving = ca.issue("fault-proxy", "hymt-lab-fault-proxy", server=True, dns_names=("localhost",),
                                 ips=("127.0.0.1",))
        sa_key, sa_pub = pki.service_account_keys(self.pki)
        admin_token, lab_token = pki.new_token(), pki.new_token()
        tokens = self.pki / "tokens.csv"
        tokens.write_text(f'{admin_token},{PRODUCT_USER},{PRODUCT_USER},"system:masters"\n'
                          f'{lab_token},{LAB_USER},{LAB_USER},"system:masters"\n')
        os.chmod(tokens, 0o600)
        (self.state / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY, sort_keys=False))
        ca_crt = self.pki / "ca.crt"

        admin_kubeconfig = self.state / "admin.kubeconfig"
        write_kubeconfig(admin_kubeconfig, api_url, ca_crt, {"token": lab_token}, "hymt-lab-admin")
        for stem, user in (("controller-manager", "system:kube-controller-manager"),
                           ("scheduler", "system:kube-scheduler")):
            crt, key = ca.issue(stem, user)
            write_kubeconfig(self.state / f"{stem}.kubeconfig", api_url, ca_crt,
                             {"client-certificate": str(crt), "client-key": str(key)}, stem)
        product_kubeconfig = kubeconfig or self.state / "kubeconfig"
        write_kubeconfig(product_kubeconfig, proxy_url, ca_crt, {"token": admin_token}, "hymt-lab")
        record.update(kubeconfig=str(product_kubeconfig), admin_kubeconfig=str(admin_kubeconfig), ca=str(ca_crt),
                      audit_log=str(self.state / "audit.log"))
        self._save(record)

        say(f"starting etcd {components.COMPONENTS['etcd'].version} on 127.0.0.1:{ports['etcd']}")
        etcd = self._spawn(record, "etcd", [
            str(binaries["etcd"] / "etcd"), "--name", "hymt-lab", "--data-dir", str(self.state / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{ports['etcd']}",
            "--advertise-client-urls", f"http://127.0.0.1:{ports['etcd']}",
            "--listen-peer-urls", f"http://127.0.0.1:{ports['etcd_peer']}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{ports['etcd_peer']}",
            "--initial-cluster", f"hymt-lab=http://127.0.0.1:{ports['etcd_peer']}",
            "--log-level", "warn", "--quota-backend-bytes", str(2 * 1024 ** 3)])
        self._wait("etcd's /health", "etcd", etcd,
                   lambda: b'"health":"true"' in urllib.request.urlopen(
                       f"http://127.0.0.1:{ports['etcd']}/health", timeout=2).read(), timeout)

        say(f"starting kube-apiserver {record['version']} on {api_url}")
        apiserver = self._spawn(record, "kube-apiserver", [
            str(binaries["kubernetes"] / "kube-apiserver"),
            "--etcd-servers", f"http://127.0.0.1:{ports['etcd']}",
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(ports["apiserver"]),
            "--tls-cert-file", str(serving[0]), "--tls-private-key-file", str(serving[1]),
            "--client-ca-file", str(ca_crt), "--token-auth-file", str(tokens),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(sa_pub), "--service-account-signing-key-file", str(sa_key),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--authorization-mode", "Node,RBAC",
            # The default admission plugins (PodSecurity, LimitRanger, ResourceQuota, NamespaceLifecycle,
            # ServiceAccount, webhooks, ...) plus NodeRestriction, as kubeadm enables them.
            "--enable-admission-plugins", "NodeRestriction",
            "--allow-privileged=true",
            "--audit-policy-file", str(self.state / "audit-policy.yaml"),
            "--audit-log-path", str(self.state / "audit.log"), "--audit-log-format", "json",
            "--audit-log-mode", "blocking", "--audit-log-maxsize", "0",
            "--profiling=false", "--v", "1"])
        context = ssl.create_default_context(cafile=str(ca_crt))
        self._wait("kube-apiserver's /readyz", "kube-apiserver", apiserver,
                   lambda: urllib.request.urlopen(f"{api_url}/readyz", context=context, timeout=3).status == 200,
                   timeout)

        say("starting kube-controller-manager and kube-scheduler")
        self._spawn(record, "kube-controller-manager", [
            str(binaries["kubernetes"] / "kube-controller-manager"),
            "--kubeconfig", str(self.state / "controller-manager.kubeconfig"),
            "--authentication-kubeconfig", str(self.state / "controller-manager.kubeconfig"),
            "--authorization-kubeconfig", str(self.state / "controller-manager.kubeconfig"),
            "--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false",
            "--use-service-account-credentials=true",
            "--service-account-private-key-file", str(sa_key), "--root-ca-file", str(ca_crt),
            "--service-cluster-ip-range", SERVICE_CIDR, "--cluster-cidr", POD_CIDR,
            "--allocate-node-cidrs=false", "--v", "1"])
        self._spawn(record, "kube-scheduler", [
            str(binaries["kubernetes"] / "kube-scheduler"),
            "--kubeconfig", str(self.state / "scheduler.kubeconfig"),
            "--authentication-kubeconfig", str(self.state / "scheduler.kubeconfig"),
            "--authorization-kubeconfig", str(self.state / "scheduler.kubeconfig"),
            "--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false", "--v", "1"])

        say(f"starting KWOK {components.COMPONENTS['kwok'].version} for {len(nodes)} nodes")
        stages = self.state / "kwok-stages.yaml"
        stages.write_text(yaml.safe_dump_all(kwok_stages(pod_ready_seconds), sort_keys=False))
        kwok = self._spawn(record, "kwok", [
            str(binaries["kwok"] / "kwok"), "--kubeconfig", str(admin_kubeconfig), "--config", str(stages),
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector", "=".join(seeds.KWOK_ANNOTATION),
            "--cidr", POD_CIDR, "--node-ip", "10.0.0.1", "--node-lease-duration-seconds", "40",
            "--server-address", f"127.0.0.1:{free_port()}"])

        say("starting the fault proxy and the lab's device-plugin stand-in")
        proxy = self._spawn(record, "fault-proxy", [
            sys.executable, "-m", "lab.control_plane.fault_proxy", "--listen", f"127.0.0.1:{ports['proxy']}",
            "--upstream", api_url, "--ca", str(ca_crt), "--cert", str(proxy_serving[0]),
            "--key", str(proxy_serving[1]), "--admin-token-file", str(tokens)])
        self._spawn(record, "device-plugin-standin", [
            sys.executable, "-m", "lab.control_plane.device_plugin_standin", "--kubeconfig", str(admin_kubeconfig),
            "--seed", record["seed"]])
        self._wait("the fault proxy's /readyz", "fault-proxy", proxy,
                   lambda: urllib.request.urlopen(f"{proxy_url}/readyz", context=context, timeout=3).status == 200,
                   timeout)

        api = ApiClient(api_url, ca_crt, lab_token)
        for node in nodes:
            api.request("POST", "/api/v1/nodes", node.node())
        self._wait(f"{len(nodes)} nodes Ready (KWOK)", "kwok", kwok,
                   lambda: api.ready_nodes() >= len(nodes), timeout)
        # The controller-manager is working once it has made the default ServiceAccount (pods need it).
        self._wait("the default ServiceAccount (kube-controller-manager)", "kube-controller-manager",
                   _Alive(record["pids"]["kube-controller-manager"]),
                   lambda: api.exists("/api/v1/namespaces/default/serviceaccounts/default"), timeout)
        self._save(record)

    # --- stop --------------------------------------------------------------------------------

    def running(self) -> bool:
        return any(_alive(pid) for pid in self.record().get("pids", {}).values())

    def stop(self, quiet: bool = False) -> list[str]:
        """Stop every process of the record, the API server's clients first; returns their names."""
        record = self.record()
        pids = record.get("pids", {})
        order = ["device-plugin-standin", "fault-proxy", "kwok", "kube-scheduler", "kube-controller-manager",
                 "kube-apiserver", "etcd"]
        stopped = []
        for name in sorted(pids, key=lambda n: order.index(n) if n in order else -1):
            if terminate(pids[name]):
                stopped.append(name)
        # cluster.json exists exactly while the cluster runs (Molecule's creates/removes rely on it).
        self.record_path.unlink(missing_ok=True)
        if not quiet:
            say(f"stopped {', '.join(stopped) or 'nothing (not running)'}")
        return stopped


class _Alive:
    """A started process found by pid, for _wait's liveness check."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self):
        return None if _alive(self.pid) else -1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def terminate(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM the process group a pid leads (SIGKILL after ``timeout``); False if it was gone."""
    if not _alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True
        except ChildProcessError:
            pass
        if not _alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def kwok_stages(pod_ready_seconds: float) -> list[dict]:
    """KWOK's own stage definitions, with the lab's pod start-up delay on pod-ready."""
    source = components.module_dir("kwok")
    stages = [yaml.safe_load((source / path).read_text(encoding="utf-8")) for path in KWOK_STAGES]
    for stage in stages:
        if stage["metadata"]["name"] == "pod-ready" and pod_ready_seconds > 0:
            stage["spec"]["delay"] = {"durationMilliseconds": int(pod_ready_seconds * 1000)}
    return stages


class ApiClient:
    """The few raw API calls the start-up needs (the kubernetes client is not needed for them)."""

    def __init__(self, url: str, ca: Path, token: str):
        self.url, self.token = url, token
        self.context = ssl.create_default_context(cafile=str(ca))

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=15) as response:
            return json.loads(response.read() or b"{}")

    def exists(self, path: str) -> bool:
        try:
            self.request("GET", path)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def ready_nodes(self) -> int:
        items = self.request("GET", "/api/v1/nodes")["items"]
        return sum(any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
                   for n in items)
