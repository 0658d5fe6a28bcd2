"""A small threaded HTTPS server for the WSGI app, with HTTP/1.1 keep-alive.

werkzeug's development server closes every connection, so each ARM call would pay a
new TLS handshake (and the client's CA bundle load): ~40 ms per request here. Azure
keeps connections alive; so does this server.
"""

from __future__ import annotations

import io
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _WsgiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "WsgiServer"

    def log_message(self, format, *args):  # the lab keeps its own request log
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _environ(self, body: bytes) -> dict:
        url = urlsplit(self.path)
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if self.headers.get("Content-Type"):
            environ["CONTENT_TYPE"] = self.headers["Content-Type"]
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[name] = value
        return environ

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status_headers: list = []

        def start_response(status, headers, exc_info=None):
            status_headers[:] = [status, headers]

        chunks = b"".join(self.server.app(self._environ(body), start_response))
        status, headers = status_headers
        self.send_response_only(int(status.split()[0]), status.split(" ", 1)[1])
        for key, value in headers:
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(chunks)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(chunks)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class WsgiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app, ssl_context: ssl.SSLContext):
        self.app = app
        self._ssl = ssl_context
        super().__init__(address, _WsgiHandler)

    def get_request(self):
        sock, address = super().get_request()
        return self._ssl.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address
