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
    """Owns the listeners (and the data plane, if asked for); ``start`` returns once both
    listeners accept connections.

    ``dataplane=True`` runs VMs and load balancers for real when this machine can (root,
    podman, haproxy); otherwise the lab logs why and runs the control plane only.
    ``lb_options`` lowers the probe interval minimum for tests.
    """

    def __init__(self, settings: LabSettings, lab: Lab | None = None, dataplane: bool = False,
                 lb_options=None):
        self.settings = settings
        settings.ensure_state_dir()
        self.lab = lab or Lab(settings)
        self.dataplane = self._dataplane(lb_options) if dataplane else None
        cert, key = ensure_pki(settings.pki_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.http = WsgiServer((settings.bind_host, settings.arm_port), ArmApp(self.lab), context)
        # port 0 asks the OS for a free port (tests); publish what was bound
        settings.arm_port = self.http.server_port
        self.proxy = ConnectProxy((settings.bind_host, settings.proxy_port), (settings.bind_host, settings.arm_port))
        settings.proxy_port = self.proxy.server_address[1]
        self._threads: list[threading.Thread] = []

    def _dataplane(self, lb_options):
        from azlab.dataplane.controller import DataPlane, unavailable_reason

        reason = unavailable_reason()
        if reason:
            log.warning("data plane off (%s): control plane only, no containers or HAProxy", reason)
            self.lab.dataplane_off_reason = reason
            return None
        extra = {"lb_options": lb_options} if lb_options else {}
        dataplane = DataPlane(self.lab, self.settings.state_dir, **extra)
        self.lab.dataplane = dataplane
        return dataplane

    def start(self) -> None:
        if self.dataplane is not None:
            self.dataplane.start()
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
        if self.dataplane is not None:
            self.dataplane.stop()
        self.lab.store.close()
