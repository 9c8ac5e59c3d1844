"""Build the fixture NVIDIA apt repository.

    python -m lab.nvidia_packages --out DIR --suite bookworm|trixie
        [--driver-version 580.95.05] [--extra-driver-version 580.105.08 ...] [--omit PKG ...]

DIR receives the .deb files, Packages(.gz), Release, InRelease, Release.gpg and key.asc (the
armored public key of a key generated for this build). Serve DIR with `python -m http.server`
or mount it and use a file: URI; apt line: `deb [signed-by=<key>] <url> /`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.nvidia_packages.catalogue import SUITES, catalogue
from lab.nvidia_packages.repo import build_repository


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.nvidia_packages", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write the repository into (emptied first)")
    parser.add_argument("--suite", required=True, choices=sorted(SUITES), help="Debian release the repository is for")
    parser.add_argument("--driver-version", default="580.95.05", help="NVIDIA driver version of the stand-in driver packages")
    parser.add_argument("--extra-driver-version", nargs="*", default=["580.105.08"],
                        help="further driver versions in the same repository, for upgrade tests ('' for none)")
    parser.add_argument("--omit", nargs="*", default=[], metavar="PKG",
                        help="package names to leave out, e.g. linux-headers-$(uname -r) for the missing-headers case")
    parser.add_argument("--kernel-release", default=None,
                        help="kernel release of the linux-headers stand-in (default: this machine's uname -r, "
                             "which containers share)")
    args = parser.parse_args(argv)
    versions = [v for v in (args.driver_version, *args.extra_driver_version) if v]
    packages = catalogue(args.suite, versions, kernel_release=args.kernel_release)
    unknown = set(args.omit) - {p.name for p in packages}
    if unknown:
        parser.error("--omit names packages this repository does not have: " + ", ".join(sorted(unknown)))
    packages = [p for p in packages if p.name not in args.omit]
    build_repository(args.out, args.suite, packages)
    print(f"built {len(packages)} packages into {args.out} (suite {args.suite}, drivers {', '.join(versions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
