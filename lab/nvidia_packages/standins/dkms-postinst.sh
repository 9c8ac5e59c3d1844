#!/bin/sh
# @PACKAGE@ SIMULATION: "builds" the module like DKMS at configure time, which needs the headers
# of the running kernel; writes a text file where DKMS would install nvidia.ko.
set -e
if [ "$1" = configure ]; then
  kver=$(uname -r)
  if [ ! -e "/lib/modules/$kver/build/Makefile" ]; then
    echo "@PACKAGE@ (simulation): Error! Your kernel headers for kernel $kver cannot be found at /lib/modules/$kver/build" >&2
    exit 1
  fi
  mkdir -p "/lib/modules/$kver/updates/dkms"
  echo "SIMULATION: NVIDIA @FLAVOUR@ kernel module @DRIVER_VERSION@ (not a real module)" > "/lib/modules/$kver/updates/dkms/nvidia.ko"
fi
