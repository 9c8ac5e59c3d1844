// The Gateway API release whose CRDs the lab installs (the linkerd role's default, v1.2.1: Linkerd
// 2.20 recommends it). No program is built from it: the lab reads config/crd/ of the module.
module hymt.lab/gateway-api

go 1.25.0

require sigs.k8s.io/gateway-api v1.2.1
