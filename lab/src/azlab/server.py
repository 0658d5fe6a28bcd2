"""Run the lab: the ARM HTTPS listener and the CONNECT proxy in one process."""

from __future__ import annotations

import logging
import ssl
import threading

from azlab.arm.app import ArmApp
from azlab.arm.service import Lab
from azlab.pki import ensure_pki
from azlab.proxy import ConnectProxy
from azlab.settings import LabSettings
from azlab.wsgi import WsgiServer

log = logging.getLogger("azlab.server")


class LabServer:
    """Owns the listeners; ``start`` returns once both accept connections."""

    def __init__(self, settings: LabSettings, lab: Lab | None = None):
        self.settings = settings
        settings.ensure_state_dir()
        self.lab = lab or Lab(settings)
        cert, key = ensure_pki(settings.pki_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.http = WsgiServer((settings.bind_host, settings.arm_port), ArmApp(self.lab), context)
        # port 0 asks the OS for a free port (tests); publish what was bound
        settings.arm_port = self.http.server_port
        self.proxy = ConnectProxy((settings.bind_host, settings.proxy_port), (settings.bind_host, settings.arm_port))
        settings.proxy_port = self.proxy.server_address[1]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target in (self.http.serve_forever, self.proxy.serve_forever):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("ARM on https://%s:%d, proxy on %s", self.settings.bind_host, self.settings.arm_port, self.settings.proxy_url)

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        self.http.shutdown()
        self.http.server_close()
        self.lab.store.close()
