#!/usr/bin/env bash
# Download into .whl/ the wheels tests/gpu/run.sh needs on a GPU host without network:
# ansible-core (the version in requirements.txt) and those of its requirements the GPU host image
# lacks. That image (Ubuntu 24.04, Python 3.12 with torch) already has Jinja2, MarkupSafe, PyYAML
# and packaging; resolvelib, cryptography and cryptography's cffi/pycparser are missing.
# Usage: tests/gpu/build-wheelhouse.sh   (needs pip and access to the package index, on any machine)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.whl"
python=${PYTHON:-python3}

pin() {  # the exact version requirements.txt pins for a package
    sed -n "s/^$1==\([^ ]*\).*/\1/p" "$root/requirements.txt"
}

ansible_core=$(pin ansible-core)
cryptography=$(pin cryptography)
if [[ -z $ansible_core || -z $cryptography ]]; then
    echo "requirements.txt pins no ansible-core or cryptography version" >&2
    exit 1
fi

# Not pinned in requirements.txt: the versions the control node's .venv resolved with these pins.
packages=(
    "ansible-core==$ansible_core"
    "cryptography==$cryptography"
    resolvelib==1.2.1
    cffi==2.1.1
    pycparser==3.12
)

mkdir -p "$dest"
rm -f "$dest"/*.whl  # one version of each: pip --no-deps refuses two
"$python" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$dest" "${packages[@]}"
ls -l "$dest"
