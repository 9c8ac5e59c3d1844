#!/bin/sh
# SIMULATION for the hymt.gpu_mesh lab: a "reboot" of a GPU host container, which cannot reboot.
# Does what a boot does to the NVIDIA driver: the kernel loads the module DKMS built for it (the
# stand-in DKMS package writes its version into updates/dkms/nvidia.ko), or none when the file
# /etc/nvidia-sim/module-load-fails exists (a module the kernel rejects). The loaded module is
# written where the stand-in nvidia-smi reads it ($NVIDIA_SIM_PROC_DRIVER_VERSION), and a new boot
# id where driver_upgrade_boot_time_command reads it.
set -eu
proc="${NVIDIA_SIM_PROC_DRIVER_VERSION:?the container must set NVIDIA_SIM_PROC_DRIVER_VERSION}"
module="/lib/modules/$(uname -r)/updates/dkms/nvidia.ko"
rm -f "$proc"
if [ -e "$module" ] && [ ! -e /etc/nvidia-sim/module-load-fails ]; then
  version=$(sed -n 's/.*kernel module \([0-9][0-9.]*\) .*/\1/p' "$module")
  echo "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  $version  Release Build  (lab simulation)" > "$proc"
fi
cat /proc/sys/kernel/random/uuid > /etc/nvidia-sim/boot-id
