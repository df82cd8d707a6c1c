"""Fixtures for the devtools.host tests: Azurite on free ports, and a host subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / "node_modules" / ".bin" / "azurite"
DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)  # Azurite's well-known devstoreaccount1 key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Azurite:
    def __init__(self, blob: int, queue: int, table: int):
        self.blob, self.queue, self.table = blob, queue, table

    @property
    def queue_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.queue}/devstoreaccount1"

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob}/devstoreaccount1;"
            f"QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint=http://127.0.0.1:{self.table}/devstoreaccount1;"
        )


@pytest.fixture(scope="session")
def host_azurite(tmp_path_factory):
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed (run make setup)")
    ports = Azurite(free_port(), free_port(), free_port())
    workdir = tmp_path_factory.mktemp("azurite")  # (--location conflicts with in-memory)
    log = open(workdir / "azurite.log", "wb")
    proc = subprocess.Popen(
        [
            str(AZURITE),
            "--silent",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
            "--blobPort",
            str(ports.blob),
            "--queuePort",
            str(ports.queue),
            "--tablePort",
            str(ports.table),
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            wait_for_port(ports.queue, proc=proc)
        except TimeoutError:
            log.flush()
            raise RuntimeError(
                "Azurite did not start:\n" + (workdir / "azurite.log").read_text(errors="replace")
            ) from None
        yield ports
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class HostProcess:
    """``python -m devtools.host`` on a free port; stdout and stderr collected."""

    def __init__(self, app_dir: Path, env: dict, stderr_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_lines: list[str] = []
        self.ready = threading.Event()
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.host", "--port", str(self.port), "--app-dir", str(app_dir)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))
            if line.startswith("host ready "):
                self.ready.set()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"host did not get ready:\n{self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return self.proc.returncode


def host_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobs", "AZURITE_", "FUNCTIONS_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def start_host(tmp_path):
    """start_host(app_dir, **env) -> a HostProcess (stopped after the test)."""
    started = []

    def start(app_dir, wait=True, **env):
        host = HostProcess(Path(app_dir), host_env(**env), tmp_path / f"host{len(started)}.err")
        started.append(host)
        if wait:
            host.wait_ready()
        return host

    yield start
    for host in started:
        host.stop()
