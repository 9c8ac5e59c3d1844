#!/usr/bin/env bash
# Download the wheels tests/gpu/run.sh needs on a GPU host without network, for CPython 3.12 on
# manylinux x86_64, pinned (one version of each):
# - .whl/: ansible-core (the version in requirements.txt) and those of its requirements the GPU
#   host image lacks. That image (Ubuntu 24.04, Python 3.12 with torch) already has Jinja2,
#   MarkupSafe, PyYAML and packaging; resolvelib, cryptography and cryptography's cffi/pycparser
#   are missing.
# - .whl/serving/: what `transformers serve` imports beyond torch and transformers: the
#   "serving" extra of transformers (openai, pydantic, uvicorn, fastapi, starlette; rich only for
#   `transformers chat`) and their requirements. Left out because the host image has them and a
#   copy could shadow the version its own packages were built against: click (typer, which runs
#   the transformers CLI, breaks with some click versions), rich with pygments, markdown-it-py and
#   mdurl, and torch, transformers, huggingface-hub, tokenizers and the nvidia-* wheels. Carried
#   although the image may have them, because the serving packages need recent versions:
#   typing-extensions, anyio, idna, h11, annotated-doc. run.sh installs a carried wheel only where
#   the host lacks the package or has an older version (tests/gpu/wheels.py).
# The serving versions are those the control node's .venv runs `transformers serve` with
# (requirements-dev.txt; checked against transformers 5.17's serving code, the version on the
# GPU host).
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

serving=(
    fastapi==0.165.0
    starlette==1.10.0
    uvicorn==0.54.0
    openai==3.57.0
    pydantic==2.14.4
    pydantic-core==2.50.5
    annotated-types==0.8.0
    typing-inspection==0.4.5
    typing-extensions==4.16.0
    annotated-doc==0.0.7
    opentelemetry-api==1.45.2
    anyio==4.16.0
    sniffio==1.3.1
    idna==3.20
    h11==0.16.0
    httpx2==2.16.2
    httpcore2==2.16.2
    truststore==0.10.5
    jiter==0.19.0
)

download() {  # DIR PACKAGE...
    local dir=$1
    shift
    mkdir -p "$dir"
    rm -f "$dir"/*.whl  # one version of each: pip --no-deps refuses two
    "$python" -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
        --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
        -d "$dir" "$@"
}

download "$dest" "${packages[@]}"
download "$dest/serving" "${serving[@]}"
ls -l "$dest" "$dest/serving"
du -sh "$dest"
