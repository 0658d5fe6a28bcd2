"""The HTTPS CONNECT proxy clients reach the lab through (HTTPS_PROXY).

Tunnels to the Azure hosts the lab serves are spliced to the lab's own TLS listener,
whose certificate names those hosts; every other destination is refused, so a run
pointed at the lab can never reach real Azure.
"""

from __future__ import annotations

import logging
import select
import socket
import socketserver

from azlab.settings import SERVED_HOSTS, is_served_host

log = logging.getLogger("azlab.proxy")
MAX_HEAD = 16384


class _TunnelHandler(socketserver.BaseRequestHandler):
    server: "ConnectProxy"

    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) > MAX_HEAD:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            self._refuse(client, 405, "Method Not Allowed", "the lab proxy only tunnels HTTPS (CONNECT)")
            return
        host, _, port = parts[1].rpartition(":")
        if not is_served_host(host) or port != "443":
            log.warning("refused CONNECT to %s", parts[1])
            self._refuse(client, 403, "Forbidden", f"the lab only serves {', '.join(SERVED_HOSTS)} on 443, not {parts[1]}")
            return
        try:
            upstream = socket.create_connection(self.server.upstream, timeout=10)
        except OSError as exc:
            self._refuse(client, 502, "Bad Gateway", f"lab ARM listener unreachable: {exc}")
            return
        upstream.settimeout(None)
        # small TLS records in both directions: Nagle plus delayed ACKs would add ~40 ms per hop
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self._splice(client, upstream)

    @staticmethod
    def _refuse(client: socket.socket, status: int, reason: str, message: str) -> None:
        body = f"azlab proxy: {message}\n".encode()
        client.sendall(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode() + body
        )

    @staticmethod
    def _splice(a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], 300)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            b.close()


class ConnectProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int]):
        self.upstream = upstream
        super().__init__(listen, _TunnelHandler)
