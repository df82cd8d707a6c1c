"""`make run`: Azurite, the Microsoft emulator, the sandbox console and the function host.

Azurite keeps its data in .azurite/ (default ports 10000-10002); the emulator serves
https://localhost:8443 with its CA in .devtools/emulator/; the console (the stand-in for the
HERP Hire frontend, HERP_APP_URL) serves http://localhost:7072; the host serves
http://localhost:7071/api. The host's log is shown here; Ctrl-C stops everything.
"""

from __future__ import annotations

import signal
import sys
import time

from devtools import stack

ROOT = stack.ROOT
LOGS = ROOT / ".devtools" / "logs"
EMULATOR_PORT, CONSOLE_PORT, HOST_PORT = 8443, 7072, 7071


def main() -> int:
    children: list[stack.Child] = []
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        azurite = stack.start_azurite(LOGS, ports=(10000, 10001, 10002), location=ROOT / ".azurite")
        children.append(azurite)
        emulator = stack.start_emulator(LOGS, ROOT / ".devtools" / "emulator", port=EMULATOR_PORT)
        children.append(emulator)
        bundle = emulator.extra["ca_bundle"]
        # local.settings.json supplies the rest (it points at these ports); only the CA path
        # must be absolute for every child.
        env = {"REQUESTS_CA_BUNDLE": bundle, "SSL_CERT_FILE": bundle}
        console = stack.start_console(LOGS, env, port=CONSOLE_PORT)
        children.append(console)
        host = stack.start_host(LOGS, env, port=HOST_PORT)
        children.append(host)
    except Exception as exc:  # noqa: BLE001 - report and stop what started
        print(f"could not start the local stack: {exc}", file=sys.stderr)
        for child in reversed(children):
            child.stop()
        return 1

    print(
        "\nHERP Hire <-> Outlook, local sandbox\n"
        f"  API base         http://localhost:{HOST_PORT}/api   (e.g. GET /api/outlook/tenant-links)\n"
        f"  sandbox console  http://localhost:{CONSOLE_PORT}/   (plays the HERP Hire frontend)\n"
        f"  Microsoft emulator https://localhost:{EMULATOR_PORT}  (control API /_emulator/state)\n"
        f"  Azurite          http://127.0.0.1:10000-10002  (data in .azurite/)\n"
        f"  logs             {LOGS.relative_to(ROOT)}/\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    with open(host.log_path, errors="replace") as host_log:
        while not stop:
            line = host_log.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
                continue
            if any(child.proc.poll() is not None for child in children):
                dead = [c.name for c in children if c.proc.poll() is not None]
                print(f"stopped: {', '.join(dead)} exited (see {LOGS.relative_to(ROOT)}/)", file=sys.stderr)
                break
            time.sleep(0.2)
    for child in reversed(children):
        child.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
