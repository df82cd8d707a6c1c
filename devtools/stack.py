"""Start and stop the local stack: Azurite, the Microsoft emulator, the function host.

Used by `make run` (devtools.run) and by the test suite (tests/conftest.py), so both run the
same processes the same way. Each child writes to its own log file; readiness is a line in it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.storage.connection import AZURITE_ACCOUNT, AZURITE_KEY

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process that should listen on {port} exited ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)
    # SIGTERM lets a child save its data; a child with nothing to save may be killed outright
    # (Azurite waits on SIGTERM until every keep-alive connection of its clients is closed).
    stop_signal: int = signal.SIGTERM

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, marker: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_text()[-4000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log_text()[-4000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, self.stop_signal)
                self.proc.wait(timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout)


def _spawn(name: str, args: list[str], log_dir: Path, env: dict | None = None, cwd: Path = ROOT) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log_file.close()
    return Child(name, proc, log_path)


def azurite_connection_string(blob: int, queue: int, table: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{table}/{AZURITE_ACCOUNT};"
    )


def start_azurite(log_dir: Path, *, ports: tuple[int, int, int] | None = None, location: Path | None = None) -> Child:
    """Azurite (blob, queue, table), in memory unless given a `location` to keep its data.
    `extra["connection_string"]` points at it."""
    if not AZURITE_BIN.exists():
        raise RuntimeError("Azurite is not installed: run `make setup` (npm ci)")
    blob, queue, table = ports or (free_port(), free_port(), free_port())
    args = [
        str(AZURITE_BIN),
        "--silent",
        "--skipApiVersionCheck",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(blob),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(queue),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(table),
    ]
    if location is None:
        args.append("--inMemoryPersistence")
    else:
        location.mkdir(parents=True, exist_ok=True)
        args += ["--location", str(location)]
    child = _spawn("azurite", args, log_dir)
    if location is None:
        child.stop_signal = signal.SIGKILL  # in memory: nothing to save, no 10 s wait for idle connections
    for port in (blob, queue, table):
        wait_for_port(port, proc=child.proc)
    child.url = f"http://127.0.0.1:{table}"
    child.extra = {
        "connection_string": azurite_connection_string(blob, queue, table),
        "queue_endpoint": f"http://127.0.0.1:{queue}/{AZURITE_ACCOUNT}",
        "ports": (blob, queue, table),
    }
    return child


def start_emulator(log_dir: Path, state_dir: Path, *, port: int | None = None, env: dict | None = None) -> Child:
    """The Microsoft identity platform + Graph emulator over HTTPS with its own CA.
    `extra["ca_bundle"]` is the bundle to use as REQUESTS_CA_BUNDLE."""
    port = port or free_port()
    args = [sys.executable, "-m", "devtools.emulator", "--port", str(port), "--state-dir", str(state_dir)]
    child = _spawn("emulator", args, log_dir, env={**os.environ, **(env or {})})
    child.wait_ready("emulator ready")
    child.url = f"https://localhost:{port}"
    child.extra = {"ca_bundle": str(state_dir / "ca-bundle.pem"), "port": port}
    return child


def start_host(log_dir: Path, env: dict, *, port: int | None = None) -> Child:
    """devtools.host serving function_app.py; the environment wins over local.settings.json."""
    port = port or free_port()
    args = [sys.executable, "-m", "devtools.host", "--port", str(port), "--app-dir", str(ROOT)]
    child = _spawn("host", args, log_dir, env={**os.environ, **env})
    child.wait_ready("host ready")
    child.url = f"http://127.0.0.1:{port}"
    return child


def start_console(log_dir: Path, env: dict, *, port: int | None = None) -> Child:
    """The sandbox console: the stand-in for the HERP Hire frontend (HERP_APP_URL)."""
    port = port or free_port()
    args = [sys.executable, "-m", "devtools.console", "--port", str(port)]
    child = _spawn("console", args, log_dir, env={**os.environ, **env})
    child.wait_ready("console ready")
    child.url = f"http://localhost:{port}"
    return child


def app_settings(*, storage: str, emulator_url: str, ca_bundle: str, host_port: int, herp_app_url: str) -> dict:
    """The settings of README.md "Settings" for a local stack (emulator client id/secret)."""
    from devtools.emulator import seed

    return {
        "AzureWebJobsStorage": storage,
        "STORAGE_ACCOUNT_NAME": "",
        "MS_CLIENT_ID": seed.CLIENT_ID,
        "MS_CLIENT_SECRET": seed.CLIENT_SECRET,
        "MS_AUTHORITY_HOST": emulator_url,
        "MS_GRAPH_ENDPOINT": f"{emulator_url}/v1.0",
        "MS_REDIRECT_URI": f"http://localhost:{host_port}/api/outlook/callback",
        # Named, not derived: a developer's local.settings.json (port 7071) must not steer a test host's.
        "MS_NOTIFICATION_URL": f"http://localhost:{host_port}/api/outlook/notifications",
        "HERP_APP_URL": herp_app_url,
        # The timer binding reads it as %ROOM_REFRESH_SCHEDULE%: it must be set for the timer to index.
        "ROOM_REFRESH_SCHEDULE": "0 0 */6 * * *",
        "REQUESTS_CA_BUNDLE": ca_bundle,
        "SSL_CERT_FILE": ca_bundle,
    }
