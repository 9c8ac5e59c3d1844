"""Turn stand-in package definitions into a signed flat apt repository with dpkg-deb and gpg."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab.nvidia_packages.catalogue import SIMULATED, SUITES, Package

KEY_UID = "hymt.gpu_mesh lab NVIDIA repository SIMULATION <lab@hymt.invalid>"


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)
    except FileNotFoundError as exc:
        raise SystemExit(f"lab.nvidia_packages: {cmd[0]} is missing (install dpkg and gnupg)") from exc
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"lab.nvidia_packages: {' '.join(cmd)} failed: {exc.stderr.strip()}") from exc


def build_deb(package: Package, workdir: Path, out: Path) -> Path:
    root = workdir / f"{package.name}_{package.version}"
    (root / "DEBIAN").mkdir(parents=True)
    size = 0
    for path, (content, mode) in package.files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
        size += len(content.encode())
    for path, dest in package.symlinks.items():
        link = root / path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(dest, link)
    (root / "DEBIAN/control").write_text(package.control(max(1, size // 1024)))
    if package.conffiles:
        (root / "DEBIAN/conffiles").write_text("".join(f"{c}\n" for c in package.conffiles))
    for name, text in package.scripts.items():
        script = root / "DEBIAN" / name
        script.write_text(text)
        script.chmod(0o755)
    deb = out / f"{package.name}_{package.version}_{package.architecture}.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)])
    return deb


def _hashes(data: bytes) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


def packages_index(debs: list[Path], packages: list[Package]) -> str:
    stanzas = []
    for deb, package in zip(debs, packages):
        data = deb.read_bytes()
        digest = _hashes(data)
        control = _run(["dpkg-deb", "--field", str(deb)]).stdout.rstrip("\n")
        # Filename relative to the repository root, "./" as NVIDIA's flat repositories write it.
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
            f"MD5sum: {digest['md5']}\nSHA1: {digest['sha1']}\nSHA256: {digest['sha256']}\n"
        )
    return "\n".join(stanzas)


def release_file(suite: str, indexes: dict[str, bytes]) -> str:
    lines = [
        "Origin: hymt-lab",
        f"Label: NVIDIA {SUITES[suite]} repository SIMULATION",
        "Architectures: amd64 all",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Description: {SIMULATED}",
    ]
    for title, algo in (("MD5Sum", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        lines.append(f"{title}:")
        for name, data in indexes.items():
            lines.append(f" {_hashes(data)[algo]} {len(data):>8} {name}")
    return "\n".join(lines) + "\n"


def sign(out: Path) -> None:
    """Generate a signing key for this build, export it to key.asc, write InRelease and Release.gpg."""
    home = Path(tempfile.mkdtemp(prefix="hymt-nvidia-gpg-"))
    env = {**os.environ, "GNUPGHOME": str(home)}
    home.chmod(0o700)
    try:
        gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
        _run([*gpg, "--quick-gen-key", KEY_UID, "ed25519", "sign", "never"], env=env)
        (out / "key.asc").write_text(_run([*gpg, "--armor", "--export", KEY_UID], env=env).stdout)
        _run([*gpg, "--yes", "--local-user", KEY_UID, "--clearsign", "-o", str(out / "InRelease"), str(out / "Release")], env=env)
        _run([*gpg, "--yes", "--local-user", KEY_UID, "--armor", "--detach-sign", "-o", str(out / "Release.gpg"),
              str(out / "Release")], env=env)
    finally:
        # Stop the agent this build's GNUPGHOME started, then drop the private key with it.
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def build_repository(out: Path, suite: str, packages: list[Package]) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="hymt-nvidia-debs-") as work:
        debs = [build_deb(p, Path(work), out) for p in packages]
    index = packages_index(debs, packages).encode()
    indexes = {"Packages": index, "Packages.gz": gzip.compress(index, mtime=0)}
    for name, data in indexes.items():
        (out / name).write_bytes(data)
    (out / "Release").write_text(release_file(suite, indexes))
    sign(out)
