"""The lab's Kubernetes: upstream control plane built from Go modules, KWOK nodes, fault proxy.

    python -m lab.control_plane build [COMPONENT ...]        build (or find cached) upstream binaries
    python -m lab.control_plane start --state-dir DIR [--nodes SEED] [--kubeconfig PATH]
    python -m lab.control_plane stop --state-dir DIR
    python -m lab.control_plane requests --state-dir DIR [--reset | --events]   the product's API requests (audit log)
    python -m lab.control_plane faults --state-dir DIR [--set JSON | --clear]
    python -m lab.control_plane gateway-api --out FILE              the pinned Gateway API release's CRDs
    python -m lab.control_plane monitoring-crds --out FILE [--crds servicemonitors,prometheusrules|all]
                                                           the pinned Prometheus Operator release's CRDs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import audit, components
from .cluster import Cluster
from .seed import DEFAULT_SEED


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.control_plane", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("build", help="build the upstream binaries that are not cached yet")
    p.add_argument("components", nargs="*", help=f"any of {', '.join(components.COMPONENTS)} (default all)")
    p = sub.add_parser("start", help="start the control plane; returns once it serves and its nodes are Ready")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--nodes", default=str(DEFAULT_SEED), help="node seed file")
    p.add_argument("--kubeconfig", help="where to write the product's kubeconfig (default STATE_DIR/kubeconfig)")
    p.add_argument("--pod-ready-seconds", type=float, default=1.0, help="how long KWOK takes to make a pod Ready")
    p.add_argument("--timeout", type=float, default=180.0)
    p = sub.add_parser("stop", help="stop every process the state directory records")
    p.add_argument("--state-dir", required=True)
    p = sub.add_parser("requests", help="count the product's API requests from the audit log")
    p.add_argument("--state-dir", required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--reset", action="store_true", help="start counting from now on (prints the count until now)")
    group.add_argument("--events", action="store_true", help="list each request (time, verb, path, status) instead")
    p = sub.add_parser("faults", help="read, set or clear the fault proxy's rules")
    p.add_argument("--state-dir", required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--set", help='JSON list of rules, e.g. [{"verb": "PATCH", "sequence": [503, 503]}]')
    group.add_argument("--clear", action="store_true")
    p = sub.add_parser("gateway-api", help="write the pinned Gateway API release's standard CRDs to one file")
    p.add_argument("--out", required=True)
    p = sub.add_parser("monitoring-crds", help="write the pinned Prometheus Operator release's CRDs to one file")
    p.add_argument("--out", required=True)
    p.add_argument("--crds", default=",".join(components.MONITORING_CRDS_DEFAULT),
                   help="comma-separated plurals (e.g. servicemonitors,prometheusrules) or all")
    args = parser.parse_args(argv)

    if args.action == "build":
        return components.main(args.components)
    if args.action == "gateway-api":
        print(components.gateway_api_install(Path(args.out)))
        return 0
    if args.action == "monitoring-crds":
        print(components.monitoring_crds_install(Path(args.out), [c for c in args.crds.split(",") if c]))
        return 0
    cluster = Cluster(args.state_dir)
    if args.action == "start":
        cluster.start(args.nodes, pod_ready_seconds=args.pod_ready_seconds, kubeconfig=args.kubeconfig,
                      timeout=args.timeout)
    elif args.action == "stop":
        cluster.stop()
    elif args.action == "requests":
        log = audit.AuditLog(cluster)
        print(json.dumps(log.timeline() if args.events else log.summary(reset=args.reset), indent=2))
    elif args.action == "faults":
        rules = json.loads(args.set) if args.set else None
        print(json.dumps(audit.set_faults(cluster, rules, clear=args.clear), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
