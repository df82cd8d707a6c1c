"""python -m devtools.emulator --port 8443 [--host 127.0.0.1] [--state-dir .devtools/emulator]

Serves the Microsoft identity platform + Graph emulator over HTTPS and prints exactly one
line `emulator ready https://localhost:PORT` on stdout when it accepts connections.
`--port 0` picks a free port (the ready line says which).
"""

from __future__ import annotations

import argparse
import signal
import ssl
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import EmulatorApp
from .certs import ensure_certs
from .jwt_keys import SigningKey
from .notifications import Notifier
from .state import State


class _LazyHandshakeContext(ssl.SSLContext):
    """Defer the TLS handshake from accept() (the server's only accepting thread) to the
    request's own thread, so one silent client cannot stall every other connection."""

    def wrap_socket(self, sock, *args, **kwargs):
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # the app logs one line per request itself
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devtools.emulator", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--state-dir", default=".devtools/emulator")
    args = ap.parse_args(argv)

    paths = ensure_certs(args.state_dir)
    ssl_context = _LazyHandshakeContext(ssl.PROTOCOL_TLS_SERVER)
    ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
    ssl_context.load_cert_chain(paths["cert"], paths["key"])

    state = State("https://localhost", SigningKey(args.state_dir))
    state.ca_bundle = paths["bundle"]  # what change notifications to https endpoints trust
    server = make_server(
        args.host, args.port, EmulatorApp(state), threaded=True, ssl_context=ssl_context, request_handler=_QuietHandler
    )
    base = f"https://localhost:{server.server_port}"
    state.base_url = base
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    notifier = Notifier(state).start()  # change notifications + room answers, every 100 ms
    print(f"emulator ready {base}", flush=True)
    print(f"CA bundle (REQUESTS_CA_BUNDLE): {paths['bundle']}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        notifier.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
