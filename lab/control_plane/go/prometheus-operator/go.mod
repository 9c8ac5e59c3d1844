// The Prometheus Operator release whose monitoring.coreos.com CRDs (ServiceMonitor, PodMonitor,
// PrometheusRule, ...) the lab installs: v0.94.1, the newest release the module proxy serves (v0.95.x
// answers 403 "This module version is not available"). No program is built from it: the lab reads
// example/prometheus-operator-crd/ of the module.
module hymt.lab/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.94.1
