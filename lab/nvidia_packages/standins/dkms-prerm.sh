#!/bin/sh
# @PACKAGE@ SIMULATION: remove the module the postinst "built".
set -e
rm -f "/lib/modules/$(uname -r)/updates/dkms/nvidia.ko"
