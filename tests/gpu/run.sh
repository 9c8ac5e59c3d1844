#!/usr/bin/env bash
# Real-GPU acceptance (issue 8) on a GPU host: nvidia_gpu_info (items 1 and 3, acceptance.py), the
# nvidia_driver role (item 2, driver_role.py, run as root) and model serving through
# `transformers serve` (item 4, serving.py); issue 15's read-only Fabric Manager and MIG capture
# (fabric_mig.sh) and issue 16's host checks of phase verify (verify_hosts.sh); those two are not in
# the default parts.
# Usage: tests/gpu/run.sh [RESULTS_DIR] [ARGS of acceptance.py]
#   (RESULTS_DIR defaults to $OUT when set, else a new temporary directory)
# GPU_TESTS chooses the parts, in this order: default "info driver serving". GPU_SERVING_ARGS adds
# arguments of serving.py (e.g. "--continuous-batching", or "--small" for a CPU smoke test of the
# serving part), split on spaces.
# Needs python3 (PYTHON overrides) and, except for `serving --small`, nvidia-smi. No network is
# used: the wheels of .whl/ (made by tests/gpu/build-wheelhouse.sh) are installed into temporary
# directories, each only where this Python lacks its package or has an older version of it
# (tests/gpu/wheels.py): .whl/*.whl (ansible-core and its requirements) for every part,
# .whl/serving/*.whl (what `transformers serve` needs beyond torch and transformers) for the
# serving part alone, so that they cannot change what items 1 to 3 measure. Writes
# RESULTS_DIR/gpu.md (copy it to docs/benchmarks/gpu.md), the captured fixtures under
# RESULTS_DIR/fixtures/ and the log RESULTS_DIR/acceptance.log; each part replaces its own
# section of gpu.md and has its own log (driver-role.log, serving.log, model-server.log).
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

install_wheels() {  # TARGET WHEEL...: install those wheels this Python lacks or has older into TARGET
    local target=$1 wanted
    shift
    (($#)) || return 0
    mapfile -t wanted < <("$python" "$root/tests/gpu/wheels.py" "$@")
    ((${#wanted[@]})) || return 0
    echo "installing into $target: ${wanted[*]##*/}"
    "$python" -m pip install --quiet --no-index --no-deps --no-cache-dir --target "$target" "${wanted[@]}"
}

shopt -s nullglob
install_wheels "$work/site" "$root"/.whl/*.whl
export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
if ! "$python" -c 'import ansible' 2>/dev/null; then
    echo "ansible-core is not installed and .whl/ holds no wheel of it: run tests/gpu/build-wheelhouse.sh first" >&2
    exit 2
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
        fabric_mig) PYTHON=$python bash "$root/tests/gpu/fabric_mig.sh" "$results" 2>&1 | tee "$results/fabric-mig.log" || status=1 ;;
        verify) PYTHON=$python bash "$root/tests/gpu/verify_hosts.sh" "$results" 2>&1 | tee "$results/verify-hosts.log" || status=1 ;;
        serving)
            install_wheels "$work/serving-site" "$root"/.whl/serving/*.whl
            PYTHONPATH="$work/serving-site:$PYTHONPATH" PYTHONUNBUFFERED=1 \
                "$python" "$root/tests/gpu/serving.py" "$results" ${GPU_SERVING_ARGS:-} 2>&1 | tee "$results/serving.log" || status=1 ;;
        *) echo "unknown part in GPU_TESTS: $part (info, driver, serving, fabric_mig, verify)" >&2; exit 2 ;;
    esac
done
echo "results in $results"
exit $status
