"""Upstream programs of the lab, built from their Go modules by exact version and cached by version.

Each component is a directory under lab/control_plane/go/ whose go.mod pins one upstream module and
lists the programs to build as `tool` directives; its go.sum pins every dependency. The binaries go
to ``$HYMT_LAB_CACHE/bin/<component>-<version>-<go.sum digest>/`` (default ``~/.cache/hymt-lab``),
outside the checkout, and are built only when that directory is missing. A build prints what it
builds and a line every 30 s, never a silent multi-minute wait.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GO_DIR = HERE / "go"


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    # What a first build took on the project's 2-core machine, for the progress line.
    first_build_minutes: int
    # -X name=value pairs that stamp the version the way upstream's release builds do; {v} is the
    # module version, {major}/{minor} its parts.
    version_stamps: tuple[str, ...] = ()

    @property
    def directory(self) -> Path:
        return GO_DIR / self.name

    @property
    def version(self) -> str:
        text = (self.directory / "go.mod").read_text(encoding="utf-8")
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)} (v\S+)", text, re.M)
        if not match:
            raise SystemExit(f"control_plane: {self.directory / 'go.mod'} does not require {self.module}")
        return match.group(1)

    @property
    def tools(self) -> list[str]:
        text = (self.directory / "go.mod").read_text(encoding="utf-8")
        block = re.search(r"^tool \((.*?)^\)", text, re.M | re.S)
        return block.group(1).split() if block else re.findall(r"^tool (\S+)", text, re.M)

    def binary_names(self) -> dict[str, str]:
        """Import path -> binary name (etcd's program is its module root, named `etcd` upstream)."""
        return {tool: ("etcd" if tool == "go.etcd.io/etcd/server/v3" else tool.rstrip("/").rsplit("/", 1)[-1])
                for tool in self.tools}

    def cache_dir(self) -> Path:
        digest = hashlib.sha256((self.directory / "go.sum").read_bytes()
                                + (self.directory / "go.mod").read_bytes()).hexdigest()[:12]
        return cache_root() / "bin" / f"{self.name}-{self.version}-{digest}"

    def ldflags(self) -> str:
        version = self.version
        major, minor = version.lstrip("v").split(".")[:2]
        stamps = [s.format(v=version, major=major, minor=minor) for s in self.version_stamps]
        return " ".join(["-s", "-w"] + [f"-X {s}" for s in stamps])


KUBE_VERSION_VARS = ("gitVersion={v}", "gitMajor={major}", "gitMinor={minor}", "gitTreeState=clean")
COMPONENTS = {
    c.name: c for c in (
        Component("kubernetes", "k8s.io/kubernetes", 5, tuple(
            f"{pkg}.{var}" for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
            for var in KUBE_VERSION_VARS)),
        Component("etcd", "go.etcd.io/etcd/server/v3", 1),
        Component("kwok", "sigs.k8s.io/kwok", 3, ("sigs.k8s.io/kwok/pkg/consts.Version={v}",)),
        Component("helm", "helm.sh/helm/v3", 3, ("helm.sh/helm/v3/internal/version.version={v}",)),
        # Source only: its CRDs (config/crd/), not a program.
        Component("gateway-api", "sigs.k8s.io/gateway-api", 0),
        # Source only: its monitoring.coreos.com CRDs (example/prometheus-operator-crd/), not a program.
        Component("prometheus-operator", "github.com/prometheus-operator/prometheus-operator", 0),
    )
}


def cache_root() -> Path:
    return Path(os.environ.get("HYMT_LAB_CACHE") or Path.home() / ".cache" / "hymt-lab")


def say(message: str) -> None:
    print(f"[control-plane] {message}", file=sys.stderr, flush=True)


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        raise SystemExit("control_plane: the Go toolchain is not on PATH; the lab builds Kubernetes, etcd, KWOK "
                         "and Helm from their Go modules (Go 1.26 or newer)")
    return go


def ensure(name: str) -> Path:
    """The directory holding the component's binaries; built first when not cached."""
    component = COMPONENTS[name]
    target = component.cache_dir()
    names = component.binary_names()
    if all((target / b).exists() for b in names.values()):
        return target
    programs = ", ".join(names.values())
    say(f"building {programs} {component.version} from {component.module} (first time, about "
        f"{component.first_build_minutes} min on 2 cores; cached in {target})")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    started = time.monotonic()
    done = threading.Event()

    def progress() -> None:
        while not done.wait(30):
            say(f"still building {programs} {component.version} ({time.monotonic() - started:.0f} s)")

    ticker = threading.Thread(target=progress, daemon=True)
    ticker.start()
    try:
        cmd = [_go(), "build", "-trimpath", "-ldflags", component.ldflags(), "-o", str(staging) + "/", *names]
        proc = subprocess.run(cmd, cwd=component.directory, capture_output=True, text=True, check=False,
                              env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"})
        if proc.returncode:
            raise SystemExit(f"control_plane: building {programs} {component.version} failed:\n{proc.stderr[-4000:]}")
        for package, binary in names.items():
            built = staging / go_binary_name(package)
            if built.name != binary:
                built.rename(staging / binary)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        done.set()
        shutil.rmtree(staging, ignore_errors=True)
    say(f"built {programs} {component.version} in {time.monotonic() - started:.0f} s")
    return target


def go_binary_name(package: str) -> str:
    """The file name `go build -o DIR/` gives a package's program (a major-version suffix is skipped)."""
    parts = package.rstrip("/").split("/")
    return parts[-2] if re.fullmatch(r"v\d+", parts[-1]) else parts[-1]


def binary(name: str, program: str | None = None) -> str:
    """Path of one program of a component (its only program when ``program`` is None)."""
    directory = ensure(name)
    names = list(COMPONENTS[name].binary_names().values())
    return str(directory / (program or names[0]))


def module_dir(name: str) -> Path:
    """Where the Go module cache holds the component's upstream source (KWOK's stages, say)."""
    component = COMPONENTS[name]
    proc = subprocess.run([_go(), "mod", "download", "-json", f"{component.module}@{component.version}"],
                          cwd=component.directory, capture_output=True, text=True, check=False)
    match = re.search(r'"Dir": "([^"]+)"', proc.stdout)
    if proc.returncode or not match:
        raise SystemExit(f"control_plane: go mod download {component.module}@{component.version} failed:\n"
                         f"{proc.stderr[-2000:]}")
    return Path(match.group(1))


def gateway_api_install(out: Path) -> Path:
    """The release's standard-channel CRDs as one file, in the order its kustomization lists them:
    what the release publishes as standard-install.yaml, made from the module's own files."""
    import yaml  # pylint: disable=import-outside-toplevel

    source = module_dir("gateway-api") / "config" / "crd"
    resources = yaml.safe_load((source / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join("---\n" + (source / r).read_text(encoding="utf-8") for r in resources if r.startswith("standard/")),
                   encoding="utf-8")
    return out


# The CRDs a role of the collection writes objects of; `monitoring-crds` installs these unless told others.
MONITORING_CRDS_DEFAULT = ("servicemonitors", "podmonitors", "prometheusrules")


def monitoring_crds_install(out: Path, plurals: list[str] | tuple[str, ...] = MONITORING_CRDS_DEFAULT) -> Path:
    """The pinned Prometheus Operator release's monitoring.coreos.com CRDs (those named by their plural, or
    all with ``["all"]``) as one file, from the module's example/prometheus-operator-crd/ (the files its
    release bundle is made of). The module cache keeps them by version, outside the checkout."""
    source = module_dir("prometheus-operator") / "example" / "prometheus-operator-crd"
    available = {f.name.split("_", 1)[1].removesuffix(".yaml"): f
                 for f in sorted(source.glob("monitoring.coreos.com_*.yaml"))}
    wanted = list(available) if list(plurals) == ["all"] else list(plurals)
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise SystemExit(f"control_plane: prometheus-operator {COMPONENTS['prometheus-operator'].version} has no CRD "
                         f"{', '.join(unknown)}; it has {', '.join(available)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join("---\n" + available[p].read_text(encoding="utf-8").removeprefix("---\n") for p in wanted),
                   encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    for name in argv or [n for n, c in COMPONENTS.items() if c.tools]:
        if name not in COMPONENTS:
            print(f"unknown component {name}; known: {', '.join(COMPONENTS)}", file=sys.stderr)
            return 2
        print(ensure(name))
    return 0
