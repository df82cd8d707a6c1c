"""The cost of the audit log: each Graph write of an event operation (create, PATCH, cancel)
adds one Table insert (`AuditLog.add`), made in the request after Graph answered. This times that
insert against Azurite, next to a point read of the same table, in this process.

    .venv/bin/python -m benchmarks.audit --writes 300

Compare the p50 with `benchmarks.events` (an event create or PATCH is one Graph call plus a few
Table operations): the audit insert is the added latency of each write.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import percentile
from devtools import stack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--writes", type=int, default=300)
    args = ap.parse_args()
    azurite = stack.start_azurite(Path(tempfile.mkdtemp(prefix="bench-audit-")))
    try:
        os.environ["AzureWebJobsStorage"] = azurite.extra["connection_string"]
        from shared.storage import base
        from shared.storage.audit import TABLE, AuditEntry, AuditLog

        log = AuditLog()

        def entry(n: int) -> AuditEntry:
            return AuditEntry(
                company_id="bench-audit",
                at=datetime.now(UTC),
                actor="herp-member",
                operation="event.update",
                schedule_id=f"sch-{n}",
                mailbox="emi@contoso.test",
                graph_request_id="0f8fad5b-d9cb-469f-a165-70867728950e",
                outcome="ok",
            )

        for n in range(20):  # warm: the table exists, the connection is open
            log.add(entry(n))
        inserts, reads = [], []
        for n in range(args.writes):
            t0 = time.perf_counter()
            written = log.add(entry(n))
            inserts.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            base.read(TABLE, "bench-audit", written.id)
            reads.append((time.perf_counter() - t0) * 1000)
        for name, values in (("audit insert", inserts), ("point read (reference)", reads)):
            print(
                f"{name:24s} p50 {percentile(values, 50):6.2f} ms  p95 {percentile(values, 95):6.2f} ms  "
                f"max {max(values):6.2f} ms  (n={len(values)})"
            )
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
