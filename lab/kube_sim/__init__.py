"""A stateful Kubernetes API server simulator for the hymt.gpu_mesh lab and tests. Never shipped.

It serves the REST API that the ``kubernetes`` Python client and kubernetes.core use, validates
every write against the official OpenAPI schemas, and runs simulated controllers (Deployments,
DaemonSets, Jobs, a scheduler and an NVIDIA device plugin) so that a bad plan stays visibly bad.
"""
