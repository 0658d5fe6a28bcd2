"""The Instance Metadata Service (IMDS) at http://169.254.169.254 in every VNet, and the
end of the scale sets' Terminate events.

Azure answers a VM's requests to 169.254.169.254 from the host it runs on, without the
VNet seeing them. The lab's VNet router holds that address (``vnet.ensure_vnet``) and the
lab listens on it *inside* each VNet's namespace: a socket opened by a thread that entered
the namespace (``setns``) stays there, so one lab process serves every VNet, and the NIC
address a request comes from names the VM that asks (the same address in two VNets is told
apart by the listener). No address of the host is opened to the VNets.

It serves, as Azure's IMDS does (the header ``Metadata: true`` and a known ``api-version``
required, proxies refused):

* ``/metadata/instance`` (its ``compute`` and ``network`` parts, or one field of them with
  ``format=text``): what the guest asks to know who it is (a scale set instance's name,
  update and fault domain);
* ``/metadata/scheduledevents``: GET the set's pending Terminate events
  (``models.compute.scheduled_events``), POST ``{"StartRequests": [{"EventId": ...}]}`` to
  approve one of its own.

``reconcile`` (a step of each data plane pass) deletes the instances whose event was
approved or is due; a pass runs at least every second, and each approval wakes one.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from azlab.dataplane import resolve, vnet
from azlab.models.compute import scheduled_events
from azlab.models.compute.common import INSTANCE_TYPE, VMSS_TYPE
from azlab.models.compute.scale_set_instances import instances
from azlab.models.compute.state import machine_spec, machines
from azlab.models.ids import ResourceId
from azlab.models.network.common import VNET_TYPE
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)

PORT = 80
#: the instance metadata API versions answered (newest last)
INSTANCE_API_VERSIONS = ("2017-03-01", "2017-04-02", "2017-08-01", "2017-12-01", "2018-02-01", "2018-04-02",
                         "2018-10-01", "2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04",
                         "2019-08-01", "2019-08-15", "2019-11-01", "2020-06-01", "2020-07-15", "2020-09-01",
                         "2020-10-01", "2020-12-01", "2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01",
                         "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13", "2023-07-01")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Answer(Exception):
    """An IMDS reply other than 200: its status and error text."""

    def __init__(self, status: int, error: str, **extra):
        super().__init__(error)
        self.status, self.body = status, {"error": error, **extra}


def socket_in_namespace(ns: str, address: str, port: int) -> socket.socket:
    """A listening TCP socket bound in network namespace ``ns`` (from a short-lived thread:
    ``setns`` changes only the calling thread's namespace, the socket keeps it)."""
    result: dict = {}

    def enter_and_bind() -> None:
        fd = os.open(vnet.namespace_path(ns), os.O_RDONLY)
        try:
            if _libc.setns(fd, _CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"setns({ns}): {os.strerror(errno)}")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(64)
            result["socket"] = sock
        except OSError as exc:
            result["error"] = exc
        finally:
            os.close(fd)

    worker = threading.Thread(target=enter_and_bind, name=f"azlab-imds-bind-{ns}")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["socket"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, service: "MetadataService", vnet_key: str, sock: socket.socket):
        super().__init__(sock.getsockname(), _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_name, self.server_port = vnet.IMDS_ADDRESS, PORT
        self.service, self.vnet_key = service, vnet_key


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            length = self.headers.get("Content-Length") or "0"
            if not length.isdigit():
                raise Answer(400, "Bad request. Invalid Content-Length")
            body = self.rfile.read(int(length)) if int(length) else b""
            content_type, text = self.server.service.answer(
                self.server.vnet_key, self.client_address[0], method, self.path, self.headers, body)
            status = 200
        except Answer as exc:
            status, content_type, text = exc.status, "application/json; charset=utf-8", json.dumps(exc.body)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        LOG.debug("imds %s: " + format, self.client_address[0], *args)


def _field(document, path: list[str]):
    for part in path:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            raise Answer(404, "Not found")
    return document


class MetadataService:
    """A listener in each ready VNet's namespace; the answers; the end of due Terminate events."""

    def __init__(self, lab, lab_name: str, wake=lambda: None):
        self.lab = lab
        self.store = lab.store
        self.lab_name = lab_name
        self._wake = wake
        self._servers: dict[str, tuple[str, int, _Server]] = {}  # VNet key -> (namespace, its inode, server)
        self.errors: dict[str, str] = {}

    # -- listeners ----------------------------------------------------------------------------

    def reconcile_listeners(self, ready_vnets: set[str]) -> None:
        """A listener in each ready VNet's namespace (again when the namespace was made anew)."""
        vnet_ids = {key_of(vnet_id): vnet_id for vnet_id, _ in self.store.list(VNET_TYPE)}
        for key in ready_vnets & set(vnet_ids):
            ns = vnet.vnet_namespace(self.lab_name, vnet_ids[key])
            try:
                inode = os.stat(vnet.namespace_path(ns)).st_ino
            except OSError:
                continue
            current = self._servers.get(key)
            if current is not None and current[:2] == (ns, inode):
                continue
            self._close(key)
            try:
                server = _Server(self, key, socket_in_namespace(ns, vnet.IMDS_ADDRESS, PORT))
            except OSError as exc:
                self.errors[key] = f"virtual network {vnet_ids[key]}: no Instance Metadata Service: {exc}"
                continue
            self.errors.pop(key, None)
            threading.Thread(target=server.serve_forever, name=f"azlab-imds-{ns}", daemon=True).start()
            self._servers[key] = (ns, inode, server)
        for key in set(self._servers) - ready_vnets:
            self._close(key)

    def stop(self) -> None:
        for key in list(self._servers):
            self._close(key)

    def _close(self, key: str) -> None:
        entry = self._servers.pop(key, None)
        if entry is not None:
            entry[2].shutdown()
            entry[2].server_close()

    # -- Terminate events -------------------------------------------------------------------

    def reconcile(self) -> None:
        """Delete the scale set instances whose Terminate event was approved or is due."""
        ctx = self.lab.context()
        seconds_per_minute = self.lab.settings.seconds_per_minute
        for vmss_id, vmss in self.store.list(VMSS_TYPE):
            if not any(scheduled_events.terminating(m) for m in instances(ctx, vmss_id, terminating=True)):
                continue
            with self.store.transaction():
                current = self.store.get(vmss_id)
                if current is None:
                    continue
                gone = ctx.registry.find(VMSS_TYPE).finish_terminations(ctx, current, time.time(), seconds_per_minute)
            if gone:
                LOG.info("scale set %s: instances %s deleted after their Terminate event", vmss["name"], gone)

    # -- answers -------------------------------------------------------------------------------

    def answer(self, vnet_key: str, client: str, method: str, target: str, headers, body: bytes) -> tuple[str, str]:
        """(content type, text) of a 200 answer, or raises ``Answer``."""
        if (headers.get("Metadata") or "").lower() != "true":
            raise Answer(400, "Bad request. Required metadata header not specified")
        if headers.get("X-Forwarded-For"):
            raise Answer(400, "Bad request. X-Forwarded-For header is not allowed")
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = [part for part in url.path.split("/") if part]
        if path[:2] == ["metadata", "scheduledevents"] and len(path) == 2:
            self._check_version(query, scheduled_events.API_VERSIONS)
            return self._scheduled_events(vnet_key, client, method, body)
        if path[:2] == ["metadata", "instance"]:
            self._check_version(query, INSTANCE_API_VERSIONS)
            if method != "GET":
                raise Answer(405, "Method not allowed")
            return self._instance(vnet_key, client, path[2:], query.get("format", "json"))
        raise Answer(404, "Not found")

    @staticmethod
    def _check_version(query: dict, versions: tuple[str, ...]) -> None:
        version = query.get("api-version")
        if version is None:
            raise Answer(400, "Bad request. api-version was not specified in the request. For more information "
                         "refer to aka.ms/azureimds", **{"newest-versions": list(reversed(versions[-3:]))})
        if version not in versions:
            raise Answer(400, "Bad request. api-version is invalid or was not specified in the request. For more "
                         "information refer to aka.ms/azureimds", **{"newest-versions": list(reversed(versions[-3:]))})

    def _caller(self, vnet_key: str, client: str) -> tuple[dict, dict]:
        """(the VM or scale set instance whose NIC has address ``client`` in the VNet, its spec)."""
        for machine_id, body in machines(self.store):
            spec = machine_spec(self.store, machine_id)
            port = resolve.nic_port(self.store, spec)
            if port is not None and port.private_ip == client and key_of(port.vnet_id) == vnet_key:
                return body, spec
        raise Answer(404, "Not found")  # a NIC the lab no longer has

    def _scheduled_events(self, vnet_key: str, client: str, method: str, body: bytes) -> tuple[str, str]:
        machine, _ = self._caller(vnet_key, client)
        is_instance = machine.get("type", "").lower() == INSTANCE_TYPE.lower()
        vmss_id = str(ResourceId.parse(machine["id"]).parent) if is_instance else None
        if method == "POST":
            try:
                requests = json.loads(body or b"{}").get("StartRequests") or []
                event_ids = {str(item["EventId"]) for item in requests}
            except (ValueError, AttributeError, TypeError, KeyError):
                raise Answer(400, "Bad request. The request body is not a valid StartRequests document") from None
            # only the VM an event names may approve it
            own_event = (machine.get(scheduled_events.TERMINATING) or {}).get("eventId")
            if vmss_id is not None and own_event in event_ids:
                ctx = self.lab.context()
                with self.store.transaction():
                    vmss = self.store.get(vmss_id)
                    approved = vmss is not None and ctx.registry.find(VMSS_TYPE).approve_events(ctx, vmss, {own_event})
                if approved:
                    self._wake()
            return "application/json; charset=utf-8", ""
        if method != "GET":
            raise Answer(405, "Method not allowed")
        vmss = self.store.get(vmss_id) if vmss_id else None
        if vmss is None:
            document = {"DocumentIncarnation": 0, "Events": []}
        else:
            members = instances(self.lab.context(), vmss_id, terminating=True)
            document = scheduled_events.document(vmss, members, self.lab.settings.seconds_per_minute)
        return "application/json; charset=utf-8", json.dumps(document)

    def _instance(self, vnet_key: str, client: str, path: list[str], fmt: str) -> tuple[str, str]:
        machine, spec = self._caller(vnet_key, client)
        value = _field(self._instance_document(machine, spec), path)
        if fmt == "text":
            if isinstance(value, (dict, list)):
                raise Answer(400, "Bad request. Text format is only supported for leaf nodes")
            return "text/plain; charset=utf-8", str(value)
        if fmt != "json":
            raise Answer(400, f"Bad request. Unsupported format {fmt}")
        return "application/json; charset=utf-8", json.dumps(value)

    def _instance_document(self, machine: dict, spec: dict) -> dict:
        rid = ResourceId.parse(machine["id"])
        is_instance = machine.get("type", "").lower() == INSTANCE_TYPE.lower()
        tags = machine.get("tags") or {}
        image = ((machine.get("properties") or {}).get("storageProfile") or {}).get("imageReference") or {}
        placement = spec["placement"]
        compute = {
            "azEnvironment": "AzurePublicCloud", "location": spec["location"], "name": spec["name"],
            "offer": image.get("offer", ""), "osType": spec["os_type"],
            "platformFaultDomain": str(placement.get("platformFaultDomain", 0)),
            "platformUpdateDomain": str(placement.get("platformUpdateDomain", 0)),
            "provider": "Microsoft.Compute", "publisher": image.get("publisher", ""),
            "resourceGroupName": rid.resource_group, "resourceId": machine["id"], "sku": image.get("sku", ""),
            "subscriptionId": rid.subscription, "tags": ";".join(f"{k}:{v}" for k, v in tags.items()),
            "tagsList": [{"name": k, "value": v} for k, v in tags.items()], "version": image.get("exactVersion", ""),
            "vmId": spec["vm_id"], "vmScaleSetName": rid.parent.name if is_instance else "",
            "vmSize": spec["vm_size"], "zone": ""}
        port = resolve.nic_port(self.store, spec)
        network, _, prefix = (port.subnet_cidr.partition("/") if port else ("", "", ""))
        interfaces = [{"ipv4": {"ipAddress": [{"privateIpAddress": port.private_ip, "publicIpAddress": ""}],
                                "subnet": [{"address": network, "prefix": prefix}]},
                       "ipv6": {"ipAddress": [{"privateIpAddress": a} for a in port.ipv6_addresses]},
                       "macAddress": port.mac.replace(":", "").upper()}] if port else []
        return {"compute": compute, "network": {"interface": interfaces}}

