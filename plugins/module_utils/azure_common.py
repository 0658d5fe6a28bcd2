# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARM access shared by the azure_ha.webfarm modules and inventory plugin.

Requests go through an azure-core pipeline (the credential of azure.azcollection's
AzureRMAuth, the HTTPS proxy and CA bundle from the environment) whose RetryPolicy
retries throttling and transient 5xx answers, honouring Retry-After. ARM bodies stay raw
JSON (camelCase, as in the REST reference): a GET-modify-PUT round trip then keeps every
property, including those newer than the SDK's models. Every ARM failure becomes one
ArmError, reported by WebfarmModuleBase with the ARM error code and target.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common import AzureRMModuleBase

try:
    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.core.pipeline import policies
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.polling import LROPoller
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
    from azure.mgmt.core.polling.arm_polling import ARMPolling
except ImportError:
    # azure_rm_common reports the missing SDK when the module starts; these keep the
    # except clauses below valid without it
    class AzureError(Exception):
        pass

    class HttpResponseError(AzureError):
        pass

USER_AGENT = "ansible-azure_ha.webfarm"
# Seconds between polls of a long-running operation when ARM sends no Retry-After.
POLL_INTERVAL = 5
RETRY_TOTAL = 6
# ARM requests one module call sends at once (reads of a set's VMs, writes of many NICs):
# a 200-VM set is read in seconds, and ARM's throttling limits are not reached.
MAX_PARALLEL_REQUESTS = 8


class MissingResourceError(Exception):
    """A resource a parameter names does not exist; the message starts with that parameter."""


class ArmError(Exception):
    """A refused or failed ARM request: HTTP status, ARM error code, message and target."""

    def __init__(self, status, code, message, target=None, operation=None):
        super(ArmError, self).__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.operation = operation

    def __str__(self):
        kind = self.code or ("HTTP {0}".format(self.status) if self.status else "error")
        text = "{0}: {1}".format(kind, self.message)
        if self.target:
            text += " (target: {0})".format(self.target)
        if self.operation:
            text = "{0} failed: {1}".format(self.operation, text)
        return text

    def details(self):
        return dict(status_code=self.status, error_code=self.code, error_target=self.target)


def error_from_body(status, text, operation=None):
    """An ArmError from an ARM error envelope ({"error": {"code", "message", "target"}})."""
    try:
        body = json.loads(text or "{}")
    except ValueError:
        body = {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        error = {}
    return ArmError(status, error.get("code"), error.get("message") or (text or "").strip() or "no error body",
                    error.get("target"), operation)


def _response_json(pipeline_response):
    text = pipeline_response.http_response.text()
    return json.loads(text) if text else None


class ArmClient(object):
    """get / put / post / delete on ARM paths with JSON bodies; long-running operations polled."""

    def __init__(self, credential, subscription_id, base_url, verify=True, poll_interval=POLL_INTERVAL):
        self.subscription_id = subscription_id
        self.poll_interval = poll_interval
        base_url = base_url.rstrip("/")
        self._client = PipelineClient(
            base_url,
            policies=[
                policies.RequestIdPolicy(),
                policies.HeadersPolicy(),
                policies.UserAgentPolicy(base_user_agent=USER_AGENT),
                policies.ProxyPolicy(),
                policies.ContentDecodePolicy(),
                policies.RedirectPolicy(),
                policies.RetryPolicy(retry_total=RETRY_TOTAL),
                ARMChallengeAuthenticationPolicy(credential, base_url + "/.default"),
            ],
            transport=RequestsTransport(connection_verify=verify),
        )

    @classmethod
    def from_auth(cls, auth, subscription_id=None):
        """A client from azure.azcollection's AzureRMAuth (modules and the inventory plugin alike)."""
        return cls(auth.azure_credential_track2, subscription_id or auth.subscription_id,
                   auth._cloud_environment.endpoints.resource_manager,
                   verify=auth._cert_validation_mode != "ignore")

    def request(self, method, path, api_version, body=None, params=None, missing_ok=False, long_running=False,
                final_state_via=None):
        """Send one request; returns the JSON body (the final one of a long-running operation).

        missing_ok: a 404 returns None instead of raising.
        """
        operation = "{0} {1}".format(method, path.split("?")[0])
        query = dict(params or {})
        query["api-version"] = api_version
        url = path if path.startswith("https://") else self._client.format_url(path)
        request = HttpRequest(method, url, params=query, json=body)
        try:
            response = self._client.send_request(request, _return_pipeline_response=True)
            status = response.http_response.status_code
            if status == 404 and missing_ok:
                return None
            if status >= 400:
                raise error_from_body(status, response.http_response.text(), operation)
            if not long_running:
                return _response_json(response)
            lro_options = {"final-state-via": final_state_via} if final_state_via else None
            polling = ARMPolling(self.poll_interval, lro_options=lro_options)
            return LROPoller(self._client, response, _response_json, polling).result()
        except HttpResponseError as exc:
            raw = getattr(exc, "response", None)
            if raw is not None:
                raise error_from_body(raw.status_code, raw.text(), operation)
            raise ArmError(None, None, str(exc), operation=operation)
        except AzureError as exc:
            raise ArmError(None, type(exc).__name__, str(exc), operation=operation)

    def get(self, path, api_version, params=None, missing_ok=True):
        return self.request("GET", path, api_version, params=params, missing_ok=missing_ok)

    def list(self, path, api_version, params=None):
        """Every item of a collection, following nextLink pages."""
        items = []
        page = self.request("GET", path, api_version, params=params)
        while page:
            items.extend(page.get("value") or [])
            next_link = page.get("nextLink")
            page = self.request("GET", next_link, api_version) if next_link else None
        return items

    def put(self, path, api_version, body):
        return self.request("PUT", path, api_version, body=body, long_running=True)

    def post(self, path, api_version, body=None, final_state_via="location"):
        return self.request("POST", path, api_version, body=body, long_running=True, final_state_via=final_state_via)


def in_parallel(function, items):
    """[function(item) for item in items], up to MAX_PARALLEL_REQUESTS at once (the ARM
    client is thread-safe); the first exception is raised once every call has ended."""
    if len(items) < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_REQUESTS, len(items))) as pool:
        return list(pool.map(function, items))


def resource_id(subscription_id, resource_group, resource_type, name, *children):
    """/subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace/type}/{name}[/{child type}/{child name}...]"""
    parts = ["/subscriptions", subscription_id, "resourceGroups", resource_group, "providers", resource_type, name]
    parts.extend(children)
    return "/".join(parts)


def same_id(first, second):
    """ARM IDs compare case-insensitively."""
    return (first or "").lower() == (second or "").lower()


class WebfarmModuleBase(AzureRMModuleBase):
    """AzureRMModuleBase plus an ArmClient (self.arm) and ArmError reporting.

    Subclasses implement run() and fill self.results."""

    def __init__(self, derived_arg_spec, **kwargs):
        self.results = dict(changed=False)
        self._arm = None
        kwargs.setdefault("supports_tags", False)
        kwargs.setdefault("supports_check_mode", True)
        super(WebfarmModuleBase, self).__init__(derived_arg_spec, **kwargs)

    @property
    def arm(self):
        if self._arm is None:
            self._arm = ArmClient.from_auth(self.azure_auth, self.module.params.get("subscription_id"))
        return self._arm

    def exec_module(self, **kwargs):
        try:
            self.run()
        except ArmError as exc:
            self.fail(msg=str(exc), **exc.details())
        except MissingResourceError as exc:
            self.fail(msg=str(exc))
        return self.results

    def run(self):
        raise NotImplementedError
