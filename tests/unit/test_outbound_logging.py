"""Outbound calls log no URL with its query, even when the app's logging is turned to DEBUG."""

import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from shared import outbound


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_urllib3_request_lines_with_queries_are_not_logged_at_debug(caplog, monkeypatch):
    monkeypatch.setattr(outbound, "_session", None)
    server = HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level(logging.DEBUG):  # the root at DEBUG, as an operator might set it
            logging.getLogger("urllib3").setLevel(logging.NOTSET)
            session = outbound.session()
            session.trust_env = False
            port = server.server_address[1]
            assert session.get(f"http://127.0.0.1:{port}/hook?code=KEY123SECRET").status_code == 200
    finally:
        server.shutdown()
    assert "KEY123SECRET" not in caplog.text
