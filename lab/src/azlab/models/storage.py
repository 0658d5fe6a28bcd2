"""Microsoft.Storage: storage accounts (boot diagnostics targets) and their blob service.

Account names are global in Azure; in the lab they are unique across its one subscription.
Access keys are generated per account, returned only by ``listKeys`` (never by a GET) and
kept out of the request log, which records request bodies only.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import re
import secrets

from azlab.models.base import Context, NameRule, Registry, ResourceType, require_props
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
BLOB_SERVICE_TYPE = "Microsoft.Storage/storageAccounts/blobServices"
SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS",
        "Standard_GZRS", "Standard_RAGZRS")
KINDS = ("Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage")
# the services (endpoints) each kind of account offers
ENDPOINTS = {
    "Storage": ("blob", "queue", "table", "file"),
    "StorageV2": ("dfs", "web", "blob", "queue", "table", "file"),
    "BlobStorage": ("dfs", "blob", "table"),
    "FileStorage": ("file",),
    "BlockBlobStorage": ("dfs", "web", "blob"),
}
# Azure's region pairs, for geo-redundant accounts' secondary location
REGION_PAIRS = {"eastus": "westus", "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2",
                "westus2": "westcentralus", "westcentralus": "westus2", "northeurope": "westeurope",
                "westeurope": "northeurope", "uksouth": "ukwest", "ukwest": "uksouth",
                "swedencentral": "swedensouth", "germanywestcentral": "germanynorth"}
# properties a client may set, kept as sent (the lab gives them no behaviour)
SETTABLE = ("supportsHttpsTrafficOnly", "minimumTlsVersion", "allowBlobPublicAccess", "allowSharedKeyAccess",
            "allowCrossTenantReplication", "defaultToOAuthAuthentication", "publicNetworkAccess", "networkAcls",
            "isHnsEnabled", "isNfsV3Enabled", "largeFileSharesState", "immutableStorageWithVersioning", "customDomain",
            "encryption", "accessTier")
DEFAULTS = {"supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
            "networkAcls": {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"}}


class AccountNameRule(NameRule):
    """Storage answers a bad name with its own error code."""

    def check(self, name: str, rtype: str) -> None:
        if not re.fullmatch(r"[a-z0-9]{3,24}", name):
            raise ArmError(400, "AccountNameInvalid", name_invalid_message(name), target="name")


def name_invalid_message(name: str) -> str:
    return (f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
            "characters in length and use numbers and lower-case letters only.")


def _iso(ctx: Context) -> str:
    return dt.datetime.fromtimestamp(ctx.now(), dt.timezone.utc).isoformat()


def _choice(value, allowed: tuple[str, ...], target: str) -> str:
    match = next((a for a in allowed if a.lower() == str(value).lower()), None)
    if match is None:
        raise invalid_parameter(target, f"The value '{value}' is not valid for {target}. Allowed values are "
                                f"{', '.join(allowed)}.")
    return match


def _new_keys(ctx: Context) -> list[dict]:
    return [{"keyName": name, "value": base64.b64encode(secrets.token_bytes(64)).decode(), "permissions": "FULL",
             "creationTime": _iso(ctx)} for name in ("key1", "key2")]


def _endpoints(name: str, kind: str, suffix: str = "") -> dict:
    return {service: f"https://{name}{suffix}.{'z13.web' if service == 'web' else service}.core.windows.net/"
            for service in ENDPOINTS[kind]}


def find_account(ctx: Context, name: str) -> dict | None:
    return next((body for _, body in ctx.list(ACCOUNT_TYPE) if body["name"] == name), None)


class StorageAccountType(ResourceType):
    full_type = ACCOUNT_TYPE
    min_api_version = "2015-06-15"
    name_rule = AccountNameRule(3, 24)
    long_running = False
    create_status = 200  # the SDK accepts 200 or 202 for a create, not 201
    actions = {"listKeys": "action_list_keys", "regenerateKey": "action_regenerate_key"}
    read_actions = frozenset({"listKeys"})

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type)
        if existing is None:
            self._check_name_free(ctx, rid)
        sku = _choice((body.get("sku") or {}).get("name") or self._missing("sku.name", existing, "sku"), SKUS, "sku.name")
        kind = _choice(body.get("kind") or self._missing("kind", existing, "kind"), KINDS, "kind")
        if existing is not None:
            self._check_sku_change(existing["sku"]["name"], sku)
        out["sku"] = {"name": sku, "tier": sku.split("_")[0]}
        out["kind"] = kind
        out["properties"] = self._properties(ctx, out, props, existing)
        out["_keys"] = existing["_keys"] if existing else _new_keys(ctx)
        if body.get("identity"):
            out["identity"] = body["identity"]
        return out

    def _missing(self, target: str, existing: dict | None, key: str):
        if existing is None:
            raise missing_property(target, self.full_type)
        return existing[key]["name"] if key == "sku" else existing[key]

    @staticmethod
    def _check_name_free(ctx: Context, rid: ResourceId) -> None:
        other = find_account(ctx, rid.name)
        if other is not None:
            # (another subscription's account would be StorageAccountAlreadyTaken; the lab has one subscription)
            raise ArmError(409, "StorageAccountAlreadyExists", f"The storage account named {rid.name} already exists "
                           "under the subscription.", target="name")

    @staticmethod
    def _check_sku_change(old: str, new: str) -> None:
        fixed = ("Premium_LRS", "Premium_ZRS", "Standard_ZRS")
        if old != new and (old in fixed or new in fixed):
            raise ArmError(400, "InvalidRequestPropertyValue", f"The storage account sku cannot be changed from {old} "
                           f"to {new}: accounts of type Premium_LRS, Premium_ZRS or Standard_ZRS cannot be converted.",
                           target="sku.name")

    @staticmethod
    def _properties(ctx: Context, out: dict, props: dict, existing: dict | None) -> dict:
        name, kind, sku, location = out["name"], out["kind"], out["sku"]["name"], out["location"]
        old = (existing or {}).get("properties", {})
        created = old.get("creationTime") or _iso(ctx)
        result = {key: copy.deepcopy(old.get(key, DEFAULTS.get(key))) for key in SETTABLE if key in old or key in DEFAULTS}
        result.update({key: props[key] for key in SETTABLE if props.get(key) is not None})
        if kind in ("StorageV2", "BlobStorage") and not result.get("accessTier"):
            result["accessTier"] = "Hot"
        service = {"keyType": "Account", "enabled": True, "lastEnabledTime": created}
        result.setdefault("encryption", {"services": {"blob": dict(service), "file": dict(service)},
                                         "keySource": "Microsoft.Storage"})
        result.update({"keyCreationTime": old.get("keyCreationTime") or {"key1": created, "key2": created},
                       "privateEndpointConnections": [], "provisioningState": "Succeeded", "creationTime": created,
                       "primaryEndpoints": _endpoints(name, kind), "primaryLocation": location,
                       "statusOfPrimary": "available"})
        if "GRS" in sku or "GZRS" in sku:
            result.update({"secondaryLocation": REGION_PAIRS.get(location, "westus"), "statusOfSecondary": "available"})
            if sku.startswith("Standard_RA"):
                result["secondaryEndpoints"] = _endpoints(name, kind, "-secondary")
        return result

    def patch(self, ctx: Context, rid: ResourceId, body: dict, existing: dict) -> dict:
        """PATCH (StorageAccountUpdateParameters) may also change sku and kind."""
        merged = {**existing, **{k: body[k] for k in ("sku", "kind", "identity") if body.get(k)}}
        if "tags" in body:
            merged["tags"] = body["tags"] or {}
        merged["properties"] = {**existing["properties"], **(body.get("properties") or {})}
        return self.build(ctx, rid, merged, existing)

    def action_list_keys(self, ctx: Context, rid: ResourceId, body: dict) -> dict:
        account = self.get_item(ctx, rid)
        return {"keys": account["_keys"]}

    def action_regenerate_key(self, ctx: Context, rid: ResourceId, body: dict) -> dict:
        account = self.get_item(ctx, rid)
        key_name = (body or {}).get("keyName")
        index = {"key1": 0, "key2": 1}.get(str(key_name).lower())
        if index is None:
            raise invalid_parameter("keyName", f"The value '{key_name}' of keyName is invalid; use key1 or key2.")
        account["_keys"][index] = _new_keys(ctx)[index]
        account["properties"]["keyCreationTime"][account["_keys"][index]["keyName"]] = account["_keys"][index]["creationTime"]
        ctx.store.put(account["id"], self.full_type, account)
        return {"keys": account["_keys"]}

    def describe(self, ctx: Context, body: dict) -> str:
        return f"{body['kind']} {body['sku']['name']} {body['properties']['primaryEndpoints'].get('blob', '')}"


class BlobServiceType(ResourceType):
    """``storageAccounts/{name}/blobServices/default``: exists with every account."""

    full_type = BLOB_SERVICE_TYPE
    min_api_version = "2018-07-01"
    has_location = False
    long_running = False
    create_status = 200
    name_rule = NameRule(7, 7, r"^default$", "the single name 'default'")

    def get_item(self, ctx: Context, rid: ResourceId) -> dict:
        stored = ctx.get(str(rid))
        account = ctx.get(str(rid.parent))
        if stored is not None or account is None or rid.name.lower() != "default":
            return super().get_item(ctx, rid)
        return self._defaults(rid, account)

    @staticmethod
    def _defaults(rid: ResourceId, account: dict) -> dict:
        return {"id": str(rid.parent.child(rid.types[-1], "default")), "name": "default", "type": BLOB_SERVICE_TYPE,
                "sku": account["sku"],
                "properties": {"cors": {"corsRules": []},
                               "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False}}}

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        account = ctx.get(str(rid.parent))
        out = existing or self._defaults(rid, account)
        props = require_props(body, self.full_type)
        out = {**out, "sku": account["sku"], "properties": {**out["properties"], **props}}
        return out


def check_name_availability(ctx: Context, body: dict) -> dict:
    """POST /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability"""
    name = body.get("name")
    if not isinstance(name, str):
        raise missing_property("name", "checkNameAvailability")
    if not re.fullmatch(r"[a-z0-9]{3,24}", name):
        return {"nameAvailable": False, "reason": "AccountNameInvalid", "message": name_invalid_message(name)}
    if find_account(ctx, name) is not None:
        return {"nameAvailable": False, "reason": "AlreadyExists",
                "message": f"The storage account named {name} is already taken."}
    return {"nameAvailable": True}


def register(registry: Registry) -> None:
    """Add this provider's types to the registry."""
    registry.register(StorageAccountType())
    registry.register(BlobServiceType())
    registry.provider_actions[("microsoft.storage", "checknameavailability")] = check_name_availability


# -- the blob endpoint ({account}.blob.core.windows.net) -------------------------------------
# Only what storage clients read while managing accounts: the blob service properties and the
# container list (the boot diagnostics containers of the VMs writing to the account).

XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
SERVICE_PROPERTIES = (
    f"{XML_HEAD}<StorageServiceProperties><Logging><Version>1.0</Version><Read>false</Read><Write>false</Write>"
    "<Delete>false</Delete><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging><HourMetrics>"
    "<Version>1.0</Version><Enabled>true</Enabled><IncludeAPIs>true</IncludeAPIs><RetentionPolicy><Enabled>true"
    "</Enabled><Days>7</Days></RetentionPolicy></HourMetrics><MinuteMetrics><Version>1.0</Version><Enabled>false"
    "</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics><Cors />"
    "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy><StaticWebsite><Enabled>false</Enabled>"
    "</StaticWebsite></StorageServiceProperties>")
SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
                  "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")


def _blob_error(status: int, code: str, message: str) -> tuple[int, str]:
    return status, f"{XML_HEAD}<Error><Code>{code}</Code><Message>{message}</Message></Error>"


def _string_to_sign(account: str, request) -> str:
    """Shared Key canonicalisation (Blob service, version 2009-09-19 and later)."""
    headers = {k.lower(): v for k, v in request.headers.items() if v}
    if headers.get("content-length") == "0":
        del headers["content-length"]
    text = request.method + "\n" + "".join(headers.get(h, "") + "\n" for h in SIGNED_HEADERS)
    text += "".join(f"{k}:{v.strip()}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
    text += f"/{account}{request.path}"
    return text + "".join(f"\n{k.lower()}:{v}" for k, v in sorted(request.args.items()))


def _signed_with_account_key(account: dict, request) -> bool:
    prefix = f"SharedKey {account['name']}:"
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith(prefix):
        return False
    message = _string_to_sign(account["name"], request).encode()
    return any(hmac.compare_digest(authorization[len(prefix):], base64.b64encode(
        hmac.new(base64.b64decode(key["value"]), message, hashlib.sha256).digest()).decode()) for key in account["_keys"])


def _containers(ctx: Context, account: dict) -> list[str]:
    """Azure creates a boot diagnostics container per VM that writes to the account."""
    blob = account["properties"].get("primaryEndpoints", {}).get("blob", "")
    names = []
    for _, vm in ctx.list("Microsoft.Compute/virtualMachines"):
        boot = vm["properties"].get("diagnosticsProfile", {}).get("bootDiagnostics", {})
        if boot.get("enabled") and blob and str(boot.get("storageUri", "")).rstrip("/") == blob.rstrip("/"):
            names.append(f"bootdiagnostics-{vm['name'].lower()[:9]}-{vm['properties']['vmId']}")
    return names


def blob_endpoint(ctx: Context, account_name: str, request) -> tuple[int, str]:
    """(status, XML body) for a request to a lab storage account's blob endpoint."""
    account = find_account(ctx, account_name)
    if account is None:
        return _blob_error(404, "ResourceNotFound", "The specified resource does not exist.")
    if not _signed_with_account_key(account, request):
        return _blob_error(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the "
                           "value of Authorization header is formed correctly including the signature.")
    comp, restype = request.args.get("comp"), request.args.get("restype")
    if request.method == "GET" and restype == "service" and comp == "properties":
        return 200, SERVICE_PROPERTIES
    if request.method == "GET" and comp == "list" and request.path == "/":
        blob = account["properties"]["primaryEndpoints"]["blob"]
        containers = "".join(f"<Container><Name>{name}</Name><Properties><LeaseStatus>unlocked</LeaseStatus>"
                             "<LeaseState>available</LeaseState></Properties></Container>" for name in _containers(ctx, account))
        return 200, (f'{XML_HEAD}<EnumerationResults ServiceEndpoint="{blob}"><Containers>{containers}</Containers>'
                     "<NextMarker /></EnumerationResults>")
    return _blob_error(501, "NotImplemented", "The requested operation is not implemented on the specified resource "
                       "(the lab's blob endpoint serves service properties and the container list only).")
