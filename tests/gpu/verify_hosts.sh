#!/usr/bin/env bash
# Issue 16: the host checks of phase verify on a real GPU host, over a local connection, the way
# driver_role.py runs the nvidia_driver role there: playbooks/verify.yml with fleet_verify_scope [hosts]
# (this host is not a Kubernetes node, so the cluster, mesh and service are not checked, and the report
# says so). Read-only. The pin is the driver this host runs. Writes the fleet report (JSON, Markdown, HTML:
# the latest copies only) to RESULTS_DIR/fleet-verify/, the raw answers of the commands the module runs to
# RESULTS_DIR/fleet-verify/raw.txt (one section each, for unit-test fixtures), the playbook's log, and exits
# 0 whatever the verdict (the verdict is in the report). Run by tests/gpu/run.sh
# (GPU_TESTS=verify), which provides ansible-core and the collection.
# Usage: tests/gpu/verify_hosts.sh RESULTS_DIR
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1/fleet-verify
mkdir -p "$out"
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

capture() {  # NAME COMMAND...: a section NAME in raw.txt with the stdout and stderr of COMMAND and its exit status
    local name=$1
    shift
    { echo "===== $name: $*"; "$@"; echo "rc=$?"; } >>"$out/raw.txt" 2>&1
}
# What nvidia_host_verify asks (its module_utils names the command lines), captured for unit-test fixtures.
mapfile -t health_args < <("$python" -c 'import sys; sys.path.insert(0, sys.argv[1])
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu, nvidia_host_verify as v
print("\n".join(nvidia_gpu.NVIDIA_SMI_ARGS)); print("--"); print("\n".join(v.ECC_SMI_ARGS))
for args in getattr(v, "EXTRA_SMI_ARGS", ()): print("--"); print("\n".join(args))' "$ANSIBLE_COLLECTIONS_PATH")
part=0 args=()
for line in "${health_args[@]}" --; do
    if [ "$line" = -- ]; then
        capture "query-$part.csv" nvidia-smi "${args[@]}"
        part=$((part + 1)) args=()
    else
        args+=("$line")
    fi
done
capture nvidia-smi-q-ecc-remap.txt nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER
capture dpkg-nvidia.txt sh -c "dpkg-query --show --showformat '\${db:Status-Want} \${db:Status-Status} \${Package} \${Architecture} \${Version}\n' | grep -iE 'nvidia|cuda'"
capture holds.txt apt-mark showhold
capture os-release.txt cat /etc/os-release
capture containerd.txt sh -c 'command -v containerd && containerd --version; ls -l /etc/containerd /etc/containerd/conf.d'

driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n1)
cat >"$work/inventory.yml" <<INV
all:
  children:
    gpu_nodes:
      hosts:
        localhost:
          ansible_connection: local
          ansible_python_interpreter: $python
INV
start=$(date +%s%N)
"$python" -m ansible playbook -i "$work/inventory.yml" "$root/playbooks/verify.yml" \
    -e "{\"fleet_verify_scope\": [\"hosts\"], \"fleet_verify_driver_version\": \"$driver\",
         \"fleet_verify_report_dir\": \"$out\", \"fleet_verify_fail_on_problems\": false,
         \"fleet_verify_report_title\": \"hymt.gpu_mesh fleet report - the H100 test host (host checks only)\"}" \
    >"$out/ansible-playbook.log" 2>&1
rc=$?
end=$(date +%s%N)
echo "verify.yml exit status $rc in $(( (end - start) / 1000000 )) ms (driver pin $driver)" | tee "$out/run.txt"
rm -f "$out"/fleet-report-2*.*  # the timestamped copies: the latest ones are the same report
tail -n 30 "$out/ansible-playbook.log"
exit 0
