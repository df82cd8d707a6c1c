"""Cold start: how long indexing takes (importing `function_app` in a fresh interpreter) and
which heavy modules it avoids; then the extra cost of the first request's lazy imports.

    .venv/bin/python -m benchmarks.cold_start --runs 10

Our sources are compiled to bytecode first, as pip compiled the installed packages and as a
deployed app has them after its first start: with PYTHONDONTWRITEBYTECODE=1 (set on this machine)
every fresh interpreter would otherwise compile `shared/` again, which no deployed instance does.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys

from devtools.stack import ROOT

INDEX = """
import json, sys, time
t = time.perf_counter()
import function_app
n = len(function_app.app.get_functions())
indexed = time.perf_counter() - t
heavy = [m for m in ("msal", "azure.identity", "cryptography", "jwt", "requests", "azure.data.tables", "opentelemetry",
                     "azure.monitor.opentelemetry",
                     "azure.storage.queue") if m in sys.modules]
t = time.perf_counter()
import jwt, msal, requests, azure.data.tables, azure.storage.queue, cryptography.hazmat.primitives.ciphers.aead
first_use = time.perf_counter() - t
print(json.dumps({"functions": n, "index_ms": indexed * 1000, "first_use_ms": first_use * 1000, "heavy": heavy}))
"""


IMPORT = "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"


def import_ms(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT.format(module=module)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return float(out)


def compile_sources() -> None:
    for folder in ("shared", "functions"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    compileall.compile_file(ROOT / "function_app.py", quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    compile_sources()
    # Alternating pairs in fresh interpreters, so machine load hits both sides alike.
    base, app = [], []
    for _ in range(args.runs):
        base.append(import_ms("azure.functions"))
        app.append(import_ms("function_app"))
    # The minimum is the least disturbed by the machine's other work; the median is also shown.
    print(
        f"import ratio over {args.runs} alternating pairs: azure.functions median {statistics.median(base):.0f} ms "
        f"(min {min(base):.0f}), function_app median {statistics.median(app):.0f} ms (min {min(app):.0f}), "
        f"ratio of medians {statistics.median(app) / statistics.median(base):.2f}, of minimums {min(app) / min(base):.2f}"
    )
    runs = [
        json.loads(
            subprocess.run([sys.executable, "-c", INDEX], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        )
        for _ in range(args.runs)
    ]
    print(f"cold start over {args.runs} fresh interpreters ({runs[0]['functions']} functions)")
    print(
        f"  import + index function_app: median {statistics.median(r['index_ms'] for r in runs):.0f} ms "
        f"(max {max(r['index_ms'] for r in runs):.0f} ms); heavy modules loaded at indexing: {runs[0]['heavy'] or 'none'}"
    )
    print(
        f"  deferred to first use (msal, PyJWT, requests, tables, queues, cryptography): "
        f"median {statistics.median(r['first_use_ms'] for r in runs):.0f} ms"
    )


if __name__ == "__main__":
    main()
