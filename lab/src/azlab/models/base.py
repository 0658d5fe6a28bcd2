"""The contract every emulated resource type fulfils, and the registry of types.

A type turns a request body into the representation ARM stores (``build``), adds the
fields Azure derives from other resources when it is read (``render``), and guards
deletes (``check_delete``). Sub-resources that Azure embeds in their parent's body
(subnets, LB probes, NSG rules, ...) are declared as ``embedded`` children: a PUT on
the child is the parent's PUT with that child replaced, so every rule is checked in one
place. Nested resources with their own lifecycle (VM extensions) are ordinary types
whose ID lies under the parent.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from azlab.models.errors import ArmError, invalid_parameter, invalid_reference, missing_property, not_found
from azlab.models.ids import ResourceId
from azlab.models.store import Store

# Public Azure regions (normalised form) the lab accepts as locations.
LOCATIONS = {
    "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2",
    "westus3": "West US 3", "centralus": "Central US", "northcentralus": "North Central US",
    "southcentralus": "South Central US", "westcentralus": "West Central US",
    "canadacentral": "Canada Central", "canadaeast": "Canada East", "brazilsouth": "Brazil South",
    "northeurope": "North Europe", "westeurope": "West Europe", "uksouth": "UK South", "ukwest": "UK West",
    "francecentral": "France Central", "germanywestcentral": "Germany West Central",
    "swedencentral": "Sweden Central", "switzerlandnorth": "Switzerland North", "norwayeast": "Norway East",
    "polandcentral": "Poland Central", "italynorth": "Italy North", "eastasia": "East Asia",
    "southeastasia": "Southeast Asia", "japaneast": "Japan East", "japanwest": "Japan West",
    "koreacentral": "Korea Central", "australiaeast": "Australia East", "australiasoutheast": "Australia Southeast",
    "centralindia": "Central India", "southindia": "South India", "uaenorth": "UAE North",
    "southafricanorth": "South Africa North", "qatarcentral": "Qatar Central",
}

API_VERSION_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview)?$")


def check_api_version_format(api_version: str | None) -> None:
    """ARM's first check on every request: a dated api-version that is not in the future."""
    if not api_version:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.", target="api-version")
    if not API_VERSION_RE.match(api_version) or api_version[:10] > time.strftime("%Y-%m-%d"):
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{api_version}' is invalid. The supported versions are dates in the form "
                       "'yyyy-mm-dd' or 'yyyy-mm-dd-preview', not later than today.", target="api-version")


def normalise_location(value: str | None, target: str = "location") -> str:
    if not value or not isinstance(value, str):
        raise missing_property(target, "location")
    loc = value.replace(" ", "").lower()
    if loc not in LOCATIONS:
        raise ArmError(
            400,
            "LocationNotAvailableForResourceType",
            f"The provided location '{value}' is not available for resource type. "
            f"List of available regions is '{','.join(sorted(LOCATIONS))}'.",
            target=target,
        )
    return loc


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def resource_guid() -> str:
    return str(uuid.uuid4())


def stable_hex(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def require_props(body: dict, rtype: str, *names: str, prefix: str = "properties") -> dict:
    """Return ``body[prefix]`` after checking the named keys are present."""
    props = body.get(prefix) if prefix else body
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise invalid_parameter(prefix, f"Property '{prefix}' must be a JSON object.")
    for name in names:
        if props.get(name) in (None, ""):
            raise missing_property(f"{prefix}.{name}" if prefix else name, rtype)
    return props


@dataclass
class NameRule:
    """Azure's naming rules for one resource type (length and character set)."""

    min_len: int = 1
    max_len: int = 80
    pattern: str = r"^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]$|^[A-Za-z0-9]$"
    description: str = "alphanumerics, underscores, periods and hyphens; start with alphanumeric; end alphanumeric or underscore"

    def check(self, name: str, rtype: str) -> None:
        if not (self.min_len <= len(name) <= self.max_len) or not re.match(self.pattern, name):
            raise ArmError(
                400,
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be up to {self.max_len} characters long. "
                f"It must be {self.min_len}-{self.max_len} characters of {self.description}.",
                target="name",
            )


class Context:
    """What a type may look at while handling one request: state, identity, clock."""

    def __init__(self, store: Store, registry: "Registry", subscription_id: str, now: Callable[[], float] = time.time):
        self.store = store
        self.registry = registry
        self.subscription_id = subscription_id
        self.now = now
        #: the request's api-version, for rules that depend on it (None outside a request)
        self.api_version: str | None = None
        #: why no guest runs here (a lab without a data plane), None when guests run
        self.no_guest_reason: str | None = None
        #: the lab's tenant (what service principals of managed identities belong to)
        self.tenant_id: str | None = None

    def get(self, resource_id: str) -> dict | None:
        return self.store.get(resource_id)

    def lookup(self, resource_id: str) -> dict | None:
        """A resource or an embedded child (e.g. a subnet inside its VNet)."""
        try:
            rid = ResourceId.parse(resource_id)
        except ValueError:
            return None
        rtype = self.registry.find(rid.full_type)
        if rtype is None:
            return None
        if rtype.embedded_in:
            parent = self.store.get(str(rid.parent))
            if parent is None:
                return None
            return find_named(embedded_items(parent, rtype.embedded_in), rid.name)
        return self.store.get(resource_id)

    def require_reference(self, referenced_id: str | None, referencing_id: str, prop: str) -> dict:
        """Azure's rule: every referenced resource must exist."""
        if not referenced_id or not isinstance(referenced_id, str):
            raise missing_property(prop, "reference")
        found = self.lookup(referenced_id)
        if found is None:
            raise invalid_reference(referenced_id, referencing_id, prop)
        return found

    def list(self, resource_type: str | None = None, prefix: str | None = None) -> list[tuple[str, dict]]:
        return self.store.list(resource_type, prefix)


def embedded_items(parent: dict, path: str, create: bool = False) -> list[dict]:
    """The children a parent embeds at ``path`` under its ``properties``: one property
    ("subnets") or a dotted path ("virtualMachineProfile.extensionProfile.extensions");
    ``create`` makes the missing levels (for a PUT of the first child)."""
    node = parent.setdefault("properties", {}) if create else parent.get("properties") or {}
    *levels, last = path.split(".")
    for level in levels:
        node = node.setdefault(level, {}) if create else node.get(level) or {}
    return node.setdefault(last, []) if create else node.get(last) or []


def find_named(items: list[dict], name: str) -> dict | None:
    for item in items or []:
        if item.get("name", "").lower() == name.lower():
            return item
    return None


class ResourceType:
    """Base class: override ``build``/``render``/``check_delete`` per type."""

    full_type: ClassVar[str]
    #: property of the parent's ``properties`` holding this child (embedded children); a
    #: dotted path for a child deeper in the parent (``embedded_items``)
    embedded_in: ClassVar[str | None] = None
    #: earliest api-version the lab accepts for this type
    min_api_version: ClassVar[str] = "2015-01-01"
    has_location: ClassVar[bool] = True
    name_rule: ClassVar[NameRule] = NameRule()
    #: whether PUT/DELETE are long-running in Azure (Azure-AsyncOperation)
    long_running: ClassVar[bool] = True
    #: POST actions: name -> method name on the type (``def action_start(self, ctx, rid, body)``)
    actions: ClassVar[dict[str, str]] = {}
    #: GET views below the resource: name -> method name (``def view_instance(self, ctx, rid)``)
    views: ClassVar[dict[str, str]] = {}
    #: actions that do not change anything (so the request log does not count them as writes)
    read_actions: ClassVar[frozenset[str]] = frozenset()
    #: actions Azure answers at once (200) on a type whose writes are long-running
    sync_actions: ClassVar[frozenset[str]] = frozenset()
    #: False for the embedded children Azure serves read-only (PUT/DELETE answer 405)
    writable: ClassVar[bool] = True
    #: a child type that is only fixed names below its parent, each a view or an action
    #: (``rollingUpgrades/latest``, ``rollingUpgrades/cancel``): never a resource of its own
    fixed_names: ClassVar[bool] = False
    #: the type its bodies are stored as, when they are another type's (a scale set instance's
    #: NICs are NICs); lists under this type read those
    stored_type: ClassVar[str | None] = None
    #: status of a PUT that creates: the SDKs accept only what Azure sends (availability sets
    #: and storage accounts answer 200, disks 202, most types 201)
    create_status: ClassVar[int] = 201

    # -- identity ------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        return self.full_type.split("/")[0]

    def check_api_version(self, api_version: str | None) -> None:
        check_api_version_format(api_version)
        if api_version[:10] < self.min_api_version:
            raise ArmError(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location 'global' and API version '{api_version}' "
                f"for type '{self.full_type.split('/', 1)[1]}'. The supported api-versions are dates from "
                f"'{self.min_api_version}' up to today.",
                target="api-version",
            )

    # -- life cycle hooks -------------------------------------------------------------

    def base_body(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        """The envelope every tracked resource has: id, name, type, location, tags, etag."""
        out = {"id": str(rid), "name": rid.name, "type": self.full_type}
        if self.has_location and not self.embedded_in:
            location = body.get("location") or (existing or {}).get("location")
            out["location"] = normalise_location(location)
            if existing and existing.get("location") and existing["location"] != out["location"]:
                raise ArmError(
                    400,
                    "InvalidResourceLocation",
                    f"The resource '{rid.name}' already exists in location '{existing['location']}' in resource group "
                    f"'{rid.resource_group}'. A resource with the same name cannot be created in location '{out['location']}'.",
                    target="location",
                )
            tags = body.get("tags") or {}
            if not isinstance(tags, dict) or len(tags) > 50:
                raise invalid_parameter("tags", "Tags must be an object of at most 50 name/value pairs.")
            out["tags"] = {str(k): str(v) for k, v in tags.items()}
        out["etag"] = new_etag()
        return out

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        """Validate ``body`` (a PUT) and return what is stored. Raise ArmError to refuse."""
        out = self.base_body(ctx, rid, body, existing)
        props = dict(body.get("properties") or {})
        props["provisioningState"] = "Succeeded"
        out["properties"] = props
        return out

    #: top-level fields a PATCH may change besides tags and properties (as its PUT would)
    patchable: ClassVar[tuple[str, ...]] = ("sku", "identity", "zones")

    def patch(self, ctx: Context, rid: ResourceId, body: dict, existing: dict) -> dict:
        """PATCH: Azure merges tags, the patchable fields and properties into the existing
        resource, then applies its PUT rules."""
        merged = dict(existing)
        if "tags" in body:
            merged["tags"] = body["tags"] or {}
        for key in self.patchable:
            if key in body:
                merged[key] = body[key]
        if isinstance(body.get("properties"), dict):
            merged["properties"] = {**existing.get("properties", {}), **body["properties"]}
        return self.build(ctx, rid, merged, existing)

    def render(self, ctx: Context, body: dict) -> dict:
        """Add fields Azure derives from other resources (back-references) on read."""
        return body

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        """A GET with ``$expand=...`` (e.g. a VM's instanceView): add it to the stored body."""
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Refuse a delete Azure refuses (resource in use)."""

    #: how long an operation waits for its gate before it fails with OperationTimedOut
    gate_timeout: ClassVar[float] = 600.0

    def operation_gate(self, ctx: Context, resource_id: str, kind: str,
                       action: str | None = None) -> Callable[[], dict | None] | None:
        """What the operation ``kind`` (``action``: the POST action's name) on the resource waits
        for before it ends (None: nothing); the callable returns None while pending, {} when
        done, {"result": body} when done with a result, an ARM error when failed."""
        return None

    def on_deleted(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Cascade after a delete (e.g. a VM's NIC with deleteOption=Delete)."""

    def get_item(self, ctx: Context, rid: ResourceId) -> dict:
        body = ctx.lookup(str(rid))
        if body is None:
            raise not_found(self.full_type, rid.name, rid.resource_group)
        return body


@dataclass
class Registry:
    """All emulated types, plus location-scoped provider endpoints (vmSizes, images)."""

    types: dict[str, ResourceType] = field(default_factory=dict)
    #: (namespace, first segment after locations/{loc}) -> handler(ctx, location, rest_segments, query)
    location_handlers: dict[tuple[str, str], Callable] = field(default_factory=dict)
    #: POST /subscriptions/{s}/providers/{ns}/{action}: (namespace, action), lower case -> handler(ctx, body)
    provider_actions: dict[tuple[str, str], Callable] = field(default_factory=dict)
    #: GET /subscriptions/{s}/providers/{ns}/{list} of what is no resource (Microsoft.Compute/skus):
    #: (namespace, list), lower case -> handler(ctx, query)
    provider_lists: dict[tuple[str, str], Callable] = field(default_factory=dict)

    def register(self, rtype: ResourceType) -> ResourceType:
        self.types[rtype.full_type.lower()] = rtype
        return rtype

    def find(self, full_type: str) -> ResourceType | None:
        return self.types.get(full_type.lower())

    def read_action_names(self) -> frozenset[str]:
        """Lower-case names of every POST action that only reads (provider actions are queries)."""
        names = {action.lower() for rtype in self.types.values() for action in rtype.read_actions}
        return frozenset(names | {action for _, action in self.provider_actions})

    def children_of(self, full_type: str) -> list[ResourceType]:
        prefix = full_type.lower() + "/"
        return [t for key, t in self.types.items() if key.startswith(prefix) and "/" not in key[len(prefix):]]

    def namespaces(self) -> dict[str, list[ResourceType]]:
        out: dict[str, list[ResourceType]] = {}
        for rtype in self.types.values():
            out.setdefault(rtype.namespace, []).append(rtype)
        return out
