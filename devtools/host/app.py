"""Load ``function_app.py``, describe its functions, invoke them with bound arguments."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import azure.functions as func
from azure.functions.decorators.function_app import FunctionRegister

from .settings import resolve_placeholders

log = logging.getLogger("devtools.host")
_current = threading.local()


class AppLoadError(Exception):
    pass


# ---------------------------------------------------------------- logging
class FunctionNameFilter(logging.Filter):
    """Adds ``record.function``: the function running on this thread, else 'host'."""

    def filter(self, record):
        record.function = getattr(_current, "function", None) or "host"
        return True


def setup_logging(stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(FunctionNameFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(function)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


# ---------------------------------------------------------------- functions
def _plain(value):
    """Enum members of azure.functions (HttpMethod, AuthLevel, ...) -> their value."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


@dataclass
class Function:
    name: str
    fn: object
    trigger: dict  # the trigger binding, placeholders resolved
    outputs: list = field(default_factory=list)  # queue output bindings
    other: list = field(default_factory=list)  # bindings this host does not provide

    @property
    def kind(self) -> str:
        return self.trigger["type"]


class Context(func.Context):
    def __init__(self, function_name, function_directory):
        self._name, self._dir = function_name, function_directory
        self._id = str(uuid.uuid4())
        self._tls = threading.local()
        self._tls.invocation_id = self._id

    invocation_id = property(lambda self: self._id)
    function_name = property(lambda self: self._name)
    function_directory = property(lambda self: self._dir)
    thread_local_storage = property(lambda self: self._tls)
    trace_context = property(lambda self: None)
    retry_context = property(lambda self: None)


class Out(func.Out):
    def __init__(self):
        self._value = None

    def set(self, val):
        self._value = val

    def get(self):
        return self._value


def load_app(app_dir: Path) -> list[Function]:
    """Import DIR/function_app.py and return its functions (AppLoadError when that fails)."""
    app_dir = str(Path(app_dir).resolve())
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module("function_app")
    except BaseException as exc:  # noqa: BLE001 - SystemExit in the app too
        raise AppLoadError(f"importing function_app.py failed: {exc!r}") from exc
    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if len(apps) != 1:
        raise AppLoadError(f"function_app.py must define exactly one FunctionApp instance, found {len(apps)}")
    try:
        indexed = apps[0].get_functions()
    except Exception as exc:
        raise AppLoadError(f"indexing functions failed: {exc}") from exc
    functions, seen = [], set()
    for f in indexed:
        name = f.get_function_name()
        if name.lower() in seen:
            raise AppLoadError(f"duplicate function name {name!r}")
        seen.add(name.lower())
        functions.append(_describe(name, f.get_user_function(), f.get_bindings_dict()))
    return functions


def _describe(name, fn, bindings_dict) -> Function:
    trigger, outputs, other = None, [], []
    for b in bindings_dict.get("bindings", []):
        b = {k: _plain(v) for k, v in b.items()}
        if b["type"].endswith("Trigger"):
            trigger = b
        elif b["type"] == "http" and b.get("name") == "$return":
            continue
        elif b["type"] == "queue" and b.get("direction") == 1:
            outputs.append(b)
        else:
            other.append(b)
    if trigger is None:
        raise AppLoadError(f"function {name!r} has no trigger")
    return Function(name, fn, trigger, outputs, other)


def resolve_bindings(function: Function, environ) -> None:
    """Resolve %SETTING% in every string property (SettingError if one is missing)."""
    for b in [function.trigger, *function.outputs]:
        for k, v in list(b.items()):
            if k not in ("name", "type", "direction"):
                b[k] = resolve_placeholders(v, environ)


# ---------------------------------------------------------------- invocation
class Invocations:
    """Counts running invocations so that shutdown can wait for them."""

    def __init__(self):
        self._cond = threading.Condition()
        self.running = 0

    def __enter__(self):
        with self._cond:
            self.running += 1

    def __exit__(self, *exc):
        with self._cond:
            self.running -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.running == 0, timeout)


invocations = Invocations()


class Invoker:
    """Calls user functions with their trigger value (by binding name), context and outputs.

    Logs 'Executed ... (Succeeded|Failed)' (with the traceback) and re-raises a failure."""

    def __init__(self, app_dir: Path, send_queue_message=None):
        self.app_dir = str(Path(app_dir).resolve())
        self.send_queue_message = send_queue_message  # (binding, bytes) -> None

    def __call__(self, function: Function, trigger_value):
        params = inspect.signature(function.fn).parameters
        kwargs, outs = {}, {}
        trigger_name = function.trigger.get("name")
        if trigger_name in params:
            kwargs[trigger_name] = _as_annotated(trigger_value, params[trigger_name].annotation)
        if "context" in params and "context" not in kwargs:
            kwargs["context"] = Context(function.name, self.app_dir)
        for b in function.outputs:
            if b["name"] in params:
                kwargs[b["name"]] = outs[b["name"]] = Out()
        for b in function.other:
            if b.get("name") in params:
                kwargs[b["name"]] = None
        previous = getattr(_current, "function", None)
        _current.function = function.name
        started = time.monotonic()
        try:
            with invocations:
                result = function.fn(**kwargs)
                if inspect.isawaitable(result):
                    result = asyncio.run(_await(result))
                for b in function.outputs:
                    value = result if b["name"] == "$return" else outs.get(b["name"], Out()).get()
                    if value is not None:
                        self._send(b, value)
        except Exception:
            log.exception("Executed '%s' (Failed, Duration=%dms)", function.name, (time.monotonic() - started) * 1000)
            raise
        else:
            log.info("Executed '%s' (Succeeded, Duration=%dms)", function.name, (time.monotonic() - started) * 1000)
            return result
        finally:
            _current.function = previous

    def _send(self, binding, value):
        if self.send_queue_message is None:
            raise RuntimeError("queue output bindings need a storage connection")
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, func.QueueMessage):
                item = item.get_body()
            if isinstance(item, str):
                item = item.encode("utf-8")
            if not isinstance(item, (bytes, bytearray)):
                raise TypeError(f"queue output {binding['name']!r} takes str or bytes, not {type(item).__name__}")
            self.send_queue_message(binding, bytes(item))


def _as_annotated(value, annotation):
    """A queue trigger parameter annotated ``str``/``bytes`` gets the body, as in the worker."""
    if isinstance(value, func.QueueMessage) and annotation in (str, "str", bytes, "bytes"):
        body = value.get_body()
        return body if annotation in (bytes, "bytes") else body.decode("utf-8")
    return value


async def _await(awaitable):
    return await awaitable
