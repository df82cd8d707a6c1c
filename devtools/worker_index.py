"""Index function_app.py the way the Azure Functions Python worker does, and print what it found.

Run under the worker's own environment (`make .venv-worker/.installed`):

    .venv-worker/bin/python -m devtools.worker_index [--app-dir DIR]   # DIR: the repo root by default

It drives the worker package (PyPI `azure-functions-runtime`, the worker library the host loads
for Python) through the same two requests the Functions host sends at start-up:
`worker_init_request` (which imports function_app.py, finds the FunctionApp, and runs
`loader.process_indexed_function`: the registry checks every binding's direction and every
parameter's type annotation) and `functions_metadata_request` (which returns the
`RpcFunctionMetadata` the host builds its function list from). The host talks to the worker over
gRPC; here a small stand-in for the generated protobuf module carries the same fields.

Prints JSON `{"functions": [{"name", "trigger", "bindings": [...]}, ...]}` and exits 0, or prints
the worker's error and exits 1 (indexing failed, no function found, or a function whose raw
bindings the host would refuse).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import sys
from types import SimpleNamespace

ROOT = pathlib.Path(__file__).resolve().parent.parent


class _Message:
    """Keeps its keyword fields as attributes, like a generated protobuf message."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"{type(self).__name__}({self.__dict__!r})"


def _message(name: str, **constants) -> type:
    return type(name, (_Message,), constants)


# Enum values as in the host's FunctionRpc.proto (BindingInfo.Direction / DataType, StatusResult.Status).
BindingInfo = _message("BindingInfo", out=1, inout=2, undefined=0, string=1, binary=2, stream=3)
setattr(BindingInfo, "in", 0)
StatusResult = _message("StatusResult", Failure=0, Success=1, Cancelled=2)

PROTOS = SimpleNamespace(
    BindingInfo=BindingInfo,
    StatusResult=StatusResult,
    RpcException=_message("RpcException"),
    RpcFunctionMetadata=_message("RpcFunctionMetadata"),
    RpcRetryOptions=_message("RpcRetryOptions"),
    WorkerMetadata=_message("WorkerMetadata"),
    WorkerInitResponse=_message("WorkerInitResponse"),
    FunctionMetadataResponse=_message("FunctionMetadataResponse"),
)

TRIGGER_SUFFIX = "Trigger"
# What the host needs in the raw binding of each trigger type this app uses.
REQUIRED_TRIGGER_FIELDS = {
    "httpTrigger": ("authLevel", "methods", "route"),
    "timerTrigger": ("schedule",),
    "queueTrigger": ("queueName", "connection"),
}


class IndexingFailed(Exception):
    pass


def _request(function_app_directory: str):
    init = SimpleNamespace(capabilities={}, function_app_directory=function_app_directory)
    return SimpleNamespace(
        name="worker_init_request",
        request=SimpleNamespace(worker_init_request=init),
        properties={"host": "127.0.0.1", "protos": PROTOS},
    )


async def _index(function_app_directory: str):
    from azure_functions_runtime import functions_metadata_request, worker_init_request

    init = await worker_init_request(_request(function_app_directory))
    if init.result.status != StatusResult.Success:
        exc = init.result.exception
        raise IndexingFailed(f"worker_init_request failed: {exc.message}\n{exc.stack_trace}")
    metadata = await functions_metadata_request(None)
    if metadata.result.status != StatusResult.Success:
        raise IndexingFailed("functions_metadata_request failed")
    if metadata.use_default_metadata_indexing:
        raise IndexingFailed("the worker fell back to host indexing (function.json)")
    return metadata.function_metadata_results or []


def _describe(meta) -> dict:
    """Name, trigger type and raw bindings of one RpcFunctionMetadata; raises if the host would refuse it."""
    bindings = [json.loads(raw) for raw in meta.raw_bindings]
    triggers = [b for b in bindings if b.get("type", "").endswith(TRIGGER_SUFFIX)]
    problems = []
    if len(triggers) != 1:
        problems.append(f"{len(triggers)} trigger bindings (one is required)")
    for binding in bindings:
        for key in ("name", "type", "direction"):
            if not binding.get(key):
                problems.append(f"binding without {key}: {binding}")
    for trigger in triggers:
        for key in REQUIRED_TRIGGER_FIELDS.get(trigger["type"], ()):
            if not trigger.get(key):
                problems.append(f"{trigger['type']} without {key}")
        if trigger.get("direction") != "IN":
            problems.append(f"trigger direction {trigger.get('direction')}")
    if set(meta.bindings) != {b.get("name") for b in bindings}:
        problems.append("binding infos and raw bindings disagree")
    if meta.entry_point != meta.name or meta.properties.get("worker_indexed") != "True":
        problems.append("not worker-indexed")
    if problems:
        raise IndexingFailed(f"function {meta.name}: " + "; ".join(problems))
    return {"name": meta.name, "trigger": triggers[0]["type"], "script_file": meta.script_file, "bindings": bindings}


def index(function_app_directory: pathlib.Path = ROOT) -> list[dict]:
    directory = str(function_app_directory)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the worker imports function_app from the app's directory
    results = asyncio.run(_index(directory))
    if not results:
        raise IndexingFailed(f"no function found in {directory}/function_app.py")
    functions = [_describe(meta) for meta in results]
    names = [f["name"] for f in functions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IndexingFailed(f"duplicate function names: {duplicates}")
    return sorted(functions, key=lambda f: f["name"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--app-dir",
        type=pathlib.Path,
        default=ROOT,
        help="directory holding function_app.py (default: the repository root)",
    )
    args = parser.parse_args(argv)
    try:
        functions = index(args.app_dir.resolve())
    except Exception as exc:  # the worker wraps import errors; show whatever it raised
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"functions": functions}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
