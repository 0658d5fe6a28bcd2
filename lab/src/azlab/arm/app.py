"""The WSGI application: host routing, authentication, faults, the request log."""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid

from werkzeug.wrappers import Request, Response

from azlab.arm.auth import AuthError
from azlab.arm.handlers import ArmHandlers, Reply
from azlab.arm.latency import Fault
from azlab.arm.service import Lab
from azlab.models.errors import ArmError
from azlab.models.storage import blob_endpoint
from azlab.settings import BLOB_HOST_SUFFIX, LOGIN_HOST, MANAGEMENT_HOST

log = logging.getLogger("azlab.arm")

SECRET_KEY_RE = re.compile(r"password|secret|customdata|privatekey|protectedsettings|token|^key\d*$|^value$", re.I)
MAX_LOGGED_BODY = 8192


def redact(value):
    """Replace every secret-looking value so the request log never holds one."""
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEY_RE.search(str(k)) and v not in (None, "", [], {}) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def is_write(request: Request, read_actions: frozenset[str]) -> bool:
    """Whether an ARM request asks for a change (counted even when refused).

    ``read_actions``: POST actions that only read; everything else a client POSTs changes something."""
    if request.method in ("PUT", "PATCH", "DELETE"):
        return True
    return request.method == "POST" and request.path.rstrip("/").rsplit("/", 1)[-1].lower() not in read_actions


def _logged_body(request: Request) -> str | None:
    raw = request.get_data(cache=True)
    if not raw:
        return None
    if request.mimetype == "application/x-www-form-urlencoded":
        body = redact(request.form.to_dict())
    else:
        try:
            body = redact(json.loads(raw))
        except ValueError:
            return "<unparseable body>"
    return json.dumps(body)[:MAX_LOGGED_BODY]


def _json_response(status: int, body=None, headers: dict | None = None) -> Response:
    data = b"" if body is None else json.dumps(body).encode()
    response = Response(data, status=status, content_type="application/json; charset=utf-8")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class ArmApp:
    """Serves management.azure.com, login.microsoftonline.com and the lab's admin API."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.handlers = ArmHandlers(lab)
        self.read_actions = lab.registry.read_action_names()

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.get_data(cache=True)  # keep the raw body for the request log
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        write = False
        try:
            host = (request.host or "").split(":")[0].lower()
            if request.path.startswith("/_azlab/"):
                response = self._admin(request)
            elif host == LOGIN_HOST:
                response = self._login(request)
            elif host.endswith(BLOB_HOST_SUFFIX):
                status, xml = blob_endpoint(self.lab.context(), host[: -len(BLOB_HOST_SUFFIX)], request)
                response = Response(xml, status=status, content_type="application/xml")
            elif request.path.rstrip("/") == "/metadata/endpoints":
                response = _json_response(200, self._metadata())
            else:
                write = is_write(request, self.read_actions)
                reply = self._arm(request)
                response = _json_response(reply.status, reply.body, reply.headers)
        except AuthError as exc:
            status = exc.status
            if host == LOGIN_HOST:
                response = _json_response(status, exc.body)
            else:
                response = _json_response(status, {"error": {"code": exc.body["error"], "message": exc.body["error_description"].split(": ", 1)[1]}})
                response.headers["WWW-Authenticate"] = f'Bearer authorization_uri="https://{LOGIN_HOST}/{self.lab.identity.tenant_id}", error="invalid_token"'
        except ArmError as exc:
            response = _json_response(exc.status, exc.envelope())
        except Exception:  # a lab bug must still answer in ARM's shape, and be logged
            log.error("unhandled error on %s %s\n%s", request.method, request.path, traceback.format_exc())
            response = _json_response(500, {"error": {"code": "InternalServerError", "message": "The lab hit an internal error; see azlab.log."}})
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = request.headers.get("x-ms-correlation-request-id", request_id)
        if not request.path.startswith("/_azlab/"):
            self._log(request, response.status_code, started, write)
        return response(environ, start_response)

    # -- ARM ------------------------------------------------------------------------------

    def _arm(self, request: Request) -> Reply:
        self.lab.operations.settle()
        self.lab.tokens.verify(request.headers.get("Authorization"))
        fault = self.lab.faults.take(request.method, request.path)
        if fault is not None:
            return self._fault_reply(fault)
        delay = self.lab.profile.sync_seconds()
        if delay:
            time.sleep(delay)
        return self.handlers.handle(request)

    @staticmethod
    def _fault_reply(fault: Fault) -> Reply:
        codes = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        message = {429: "The request is being throttled as the limit has been reached for operation type."}.get(
            fault.status, "The server encountered an error (injected by azlab fault).")
        return Reply(fault.status, {"error": {"code": codes[fault.status], "message": message}}, {"Retry-After": str(fault.retry_after)})

    def _metadata(self) -> dict:
        """Azure Stack-style endpoint discovery (AZURE_CLOUD_ENVIRONMENT=<this URL>)."""
        return {
            "galleryEndpoint": "",
            "graphEndpoint": "https://graph.windows.net/",
            "portalEndpoint": "https://portal.azure.com/",
            "authentication": {
                "loginEndpoint": f"https://{LOGIN_HOST}/",
                "audiences": [f"https://{MANAGEMENT_HOST}/"],
            },
            "name": "AzureLab",
            "resourceManager": f"https://{MANAGEMENT_HOST}/",
            "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net"},
        }

    # -- login.microsoftonline.com ------------------------------------------------------------

    def _login(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        tokens = self.lab.tokens
        if parts[:3] == ["common", "discovery", "instance"]:
            return _json_response(200, tokens.instance_discovery(request.args.get("authorization_endpoint", "")))
        if len(parts) >= 3 and parts[-2:] == [".well-known", "openid-configuration"]:
            return _json_response(200, tokens.openid_configuration(parts[0], v2=parts[1] == "v2.0"))
        if len(parts) >= 3 and parts[1] == "oauth2" and parts[-1] == "token" and request.method == "POST":
            basic = (request.authorization.username, request.authorization.password) if request.authorization and request.authorization.type == "basic" else None
            return _json_response(200, tokens.issue(parts[0], request.form.to_dict(), basic))
        raise AuthError(404, "not_found", f"The lab's token service does not serve {request.path}.", 90002)

    # -- admin API (azlab CLI, tests, benchmarks) ----------------------------------------------

    def _admin(self, request: Request) -> Response:
        if request.headers.get("X-Azlab-Key") != self.lab.identity.admin_key:
            return _json_response(401, {"error": {"code": "Unauthorized", "message": "missing or wrong X-Azlab-Key"}})
        route = request.path[len("/_azlab/"):].strip("/")
        body = request.get_json(force=True, silent=True) or {}
        lab = self.lab
        try:
            if route == "health":
                return _json_response(200, {"ok": True, "pid": __import__("os").getpid()})
            if route == "log" and request.method == "GET":
                since = int(request.args.get("since", 0))
                return _json_response(200, {"mark": lab.store.request_mark(),
                                            "requests": lab.store.requests(since, request.args.get("writes") == "1")})
            if route == "mark":
                return _json_response(200, {"mark": lab.store.request_mark()})
            if route == "faults" and request.method == "GET":
                return _json_response(200, {"faults": lab.faults.list()})
            if route == "faults" and request.method == "POST":
                lab.faults.add(Fault(**body))
                return _json_response(201, {"faults": lab.faults.list()})
            if route == "faults" and request.method == "DELETE":
                lab.faults.clear()
                if lab.dataplane is not None:
                    lab.dataplane.clear_faults()
                return _json_response(200, {"faults": []})
            if route == "dataplane/faults" and request.method == "GET":
                return _json_response(200, {"faults": lab.dataplane.faults() if lab.dataplane else {}})
            if route == "dataplane/faults" and request.method == "POST":
                if lab.dataplane is None:
                    return _json_response(409, {"error": {"code": "DataPlaneOff", "message": lab.dataplane_off_reason}})
                lab.dataplane.set_fault(body.get("kind", ""), body.get("vm", ""))
                return _json_response(201, {"faults": lab.dataplane.faults()})
            if route == "profile" and request.method == "GET":
                return _json_response(200, lab.profile.__dict__)
            if route == "profile" and request.method == "PUT":
                return _json_response(200, lab.set_profile(body.get("name", "instant"), float(body.get("factor", 1.0))).__dict__)
            if route == "status":
                return _json_response(200, {"resources": lab.resource_table(), "profile": lab.profile.__dict__,
                                            "dataplane": lab.dataplane_status()})
            if route == "reset" and request.method == "POST":
                lab.reset()
                return _json_response(200, {"reset": True})
        except (TypeError, ValueError) as exc:
            return _json_response(400, {"error": {"code": "InvalidParameter", "message": str(exc)}})
        return _json_response(404, {"error": {"code": "NotFound", "message": f"no admin route {request.method} {route}"}})

    def _log(self, request: Request, status: int, started: float, write: bool) -> None:
        self.lab.store.log_request({
            "ts": time.time(),
            "method": request.method,
            "host": (request.host or "").split(":")[0],
            "path": request.path,
            "api_version": request.args.get("api-version"),
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
            "write": int(write),
            "body": _logged_body(request),
        })
