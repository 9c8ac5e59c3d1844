"""The local lab for hymt.gpu_mesh: container GPU hosts and simulated services. Never shipped."""
