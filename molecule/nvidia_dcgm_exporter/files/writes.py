"""The product user's requests since the last `requests --reset`, split into reads, dry-run writes and real writes.

Read from the lab API server's audit log (lab.control_plane.audit), whose counts strip the query string and so
cannot tell a server-side dry run (?dryRun=All) from a write. Prints JSON.
"""

import json
import sys

from lab.control_plane.audit import AuditLog
from lab.control_plane.cluster import Cluster

WRITES = {"create", "update", "patch", "delete", "deletecollection"}

events = AuditLog(Cluster(sys.argv[1])).events()
writes = [e for e in events if e["verb"] in WRITES]
dry = [e for e in writes if "dryRun=All" in e["requestURI"]]
real = [f"{e['verb']} {e['requestURI']}" for e in writes if e not in dry]
print(json.dumps({"total": len(events), "reads": len(events) - len(writes), "dry_run_writes": len(dry), "writes": real}))
