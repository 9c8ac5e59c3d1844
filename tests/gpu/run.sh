#!/usr/bin/env bash
# Real-GPU acceptance (issue 8) on a GPU host: nvidia_gpu_info (items 1 and 3, acceptance.py), the
# nvidia_driver role (item 2, driver_role.py, run as root) and model serving (item 4, serving.py).
# Usage: tests/gpu/run.sh [RESULTS_DIR] [ARGS of acceptance.py]
#   (RESULTS_DIR defaults to $OUT when set, else a new temporary directory)
# GPU_TESTS chooses the parts, in this order: default "info driver serving". GPU_SERVING_ARGS adds
# arguments of serving.py (e.g. "--requests-8 32"), split on spaces.
# Needs python3 (PYTHON overrides) and nvidia-smi. Without ansible-core on the host, it installs
# the wheels of .whl/ (made by tests/gpu/build-wheelhouse.sh) into a temporary directory: no
# network is used. Writes RESULTS_DIR/gpu.md (copy it to docs/benchmarks/gpu.md), the captured
# fixtures under RESULTS_DIR/fixtures/ and the log RESULTS_DIR/acceptance.log; each part replaces
# its own section of gpu.md and has its own log (driver-role.log, serving.log). serving.py needs
# torch, transformers and aiohttp on the host (see tests/gpu/model_server.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}
results=${1:-${OUT:-$(mktemp -d)}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$results"

# ansible-core refuses to start without a UTF-8 locale. Bytecode is written and the wheels are
# compiled on purpose: recompiling ansible in every timed run would swamp what P3 measures.
export LC_ALL=C.UTF-8

if ! "$python" -c 'import ansible' 2>/dev/null; then
    shopt -s nullglob
    wheels=("$root"/.whl/*.whl)
    if ((${#wheels[@]} == 0)); then
        echo "ansible-core is not installed and .whl/ holds no wheels: run tests/gpu/build-wheelhouse.sh first" >&2
        exit 2
    fi
    "$python" -m pip install --quiet --no-index --no-deps --no-cache-dir \
        --target "$work/site" "${wheels[@]}"
    export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
fi

# The checkout as hymt.gpu_mesh, and an empty configuration so that no ansible.cfg, inventory or
# callback setting of this directory or the host changes what is run or measured.
mkdir -p "$work/collections/ansible_collections/hymt"
ln -s "$root" "$work/collections/ansible_collections/hymt/gpu_mesh"
touch "$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False

cd "$work"
status=0
for part in ${GPU_TESTS:-info driver serving}; do
    case $part in
        info) "$python" "$root/tests/gpu/acceptance.py" "$results" "${@:2}" 2>&1 | tee "$results/acceptance.log" || status=1 ;;
        driver) "$python" "$root/tests/gpu/driver_role.py" "$results" 2>&1 | tee "$results/driver-role.log" || status=1 ;;
        serving) "$python" "$root/tests/gpu/serving.py" "$results" ${GPU_SERVING_ARGS:-} 2>&1 | tee "$results/serving.log" || status=1 ;;
        *) echo "unknown part in GPU_TESTS: $part (info, driver, serving)" >&2; exit 2 ;;
    esac
done
echo "results in $results"
exit $status
