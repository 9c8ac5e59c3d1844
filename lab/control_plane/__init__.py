"""The lab's Kubernetes control plane (upstream binaries built from Go modules): lab infrastructure, never shipped."""
