#!/usr/bin/env bash
# Read-only capture for Fabric Manager detection and MIG (issue 15 item 5) on a shared GPU host:
# what nvidia-smi, sysfs and the package manager say, then nvidia_gpu_info and nvidia_mig_layout in
# CHECK MODE ONLY. The host's MIG mode must never change and no GPU is ever reset: nvidia_mig_layout
# gets a guard in place of nvidia-smi that refuses every argument that could change a GPU, and the
# MIG mode is compared before and after. Run by tests/gpu/run.sh (GPU_TESTS=fabric_mig), which
# provides ansible-core and the collection.
# Usage: tests/gpu/fabric_mig.sh RESULTS_DIR
set -uo pipefail

out=$1/fabric-mig
mkdir -p "$out"
smi=$(command -v nvidia-smi)
mode_query=(--query-gpu=index,uuid,mig.mode.current,mig.mode.pending --format=csv,noheader)

capture() {  # NAME COMMAND...: stdout and stderr of COMMAND into NAME, then a line with its exit status
    local name=$1
    shift
    { "$@"; echo "rc=$?"; } >"$out/$name" 2>&1
}

guard=$(mktemp -d)/nvidia-smi
cat >"$guard" <<GUARD
#!/bin/sh
# Refuses every nvidia-smi argument that changes a GPU: only reads pass.
for arg in "\$@"; do
    case "\$arg" in
        -mig|--multi-instance-gpu|-cgi|--create-gpu-instance|-dgi|--destroy-gpu-instance|-cci|--create-compute-instance|-dci|--destroy-compute-instance|-r|--gpu-reset|-pm|-e|-c|-pl|-lgc|-rgc)
            echo "GUARD: refused nvidia-smi \$*" >&2; exit 99 ;;
    esac
done
exec $smi "\$@"
GUARD
chmod +x "$guard"

capture mig-mode-before.csv "$smi" "${mode_query[@]}"
capture nvidia-smi-q.txt "$smi" -q
capture query-fabric-mig.csv "$smi" --query-gpu=index,name,pci.bus_id,fabric.state,fabric.status,mig.mode.current,mig.mode.pending --format=csv
capture mig-lgip.txt "$smi" mig -lgip
capture mig-lgipp.txt "$smi" mig -lgipp
capture mig-lgi.txt "$smi" mig -lgi
capture mig-lci.txt "$smi" mig -lci
capture mig-help.txt "$smi" mig -h
capture nvidia-smi-help.txt "$smi" -h
capture query-compute-apps.csv "$smi" --query-compute-apps=gpu_uuid,pid,process_name --format=csv,noheader
capture lspci-nvidia.txt sh -c 'lspci -nn | grep -i nvidia'
capture sysfs-pci-devices.txt sh -c 'for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class")"; done'
capture fabricmanager-systemctl.txt systemctl status nvidia-fabricmanager --no-pager
capture fabricmanager-packages.txt sh -c 'dpkg -l | grep -i -e fabric -e nscq -e nvlsm; rpm -qa 2>/dev/null | grep -i fabric'
capture os-release.txt cat /etc/os-release

py=$(command -v "${PYTHON:-python3}")
adhoc() {  # NAME MODULE ARGS [ansible options]: one module run on localhost, its result ("localhost | STATUS => JSON") into NAME
    local name=$1 module=$2 args=$3
    shift 3
    capture "$name" "$py" -m ansible adhoc localhost -c local -e "ansible_python_interpreter=$py" -m "$module" -a "$args" "$@"
}
adhoc nvidia-gpu-info.json hymt.gpu_mesh.nvidia_gpu_info 'backend=auto'
adhoc mig-layout-check.json hymt.gpu_mesh.nvidia_mig_layout \
    "{\"nvidia_smi_path\": \"$guard\", \"layout\": {\"all\": [\"3g.40gb\", \"2g.20gb\", \"2g.20gb\"]}}" --check --diff
adhoc mig-layout-refused.json hymt.gpu_mesh.nvidia_mig_layout \
    "{\"nvidia_smi_path\": \"$guard\", \"layout\": {\"all\": [\"3g.40gb\", \"3g.40gb\", \"3g.40gb\", \"3g.40gb\"]}}" --check
adhoc mig-layout-off.json hymt.gpu_mesh.nvidia_mig_layout \
    "{\"nvidia_smi_path\": \"$guard\", \"layout\": {\"all\": []}}" --check --diff

capture mig-mode-after.csv "$smi" "${mode_query[@]}"
if cmp -s <(head -n -1 "$out/mig-mode-before.csv") <(head -n -1 "$out/mig-mode-after.csv"); then
    echo "MIG mode unchanged: $(head -n -1 "$out/mig-mode-after.csv" | tr '\n' ' ')"
else
    echo "MIG MODE CHANGED" >&2
    exit 1
fi
