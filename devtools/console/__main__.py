"""``python -m devtools.console --port 7072 [--api http://localhost:7071] [--host 127.0.0.1]``

Serves the sandbox console (a threaded werkzeug server) and prints one line
``console ready http://localhost:PORT`` once it listens. Ctrl-C / SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import signal
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import ConsoleApp
from .config import load_config


class QuietHandler(WSGIRequestHandler):
    """One access-log line per request on stderr (stdout carries only the ready line)."""

    def log(self, type, message, *args):  # noqa: A002 - werkzeug's signature
        sys.stderr.write(f"{self.address_string()} - {message % args}\n")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m devtools.console", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--port", type=int, default=7072, help="0 picks a free port")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument(
        "--api",
        default=None,
        help="API base without /api (default: env CONSOLE_API_URL, "
        "else the base of MS_REDIRECT_URI, else http://localhost:7071)",
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = load_config(api_base=args.api)
    server = make_server(args.host, args.port, ConsoleApp(config), threaded=True, request_handler=QuietHandler)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"console ready http://localhost:{server.server_port}", flush=True)
    print(f"console: API base {config.api_base}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
