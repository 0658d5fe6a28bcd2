"""Microsoft.Resources: subscriptions, resource groups, providers and locations."""

from __future__ import annotations

from azlab.models.base import LOCATIONS, Context, NameRule, Registry, ResourceType, normalise_location
from azlab.models.errors import ArmError, invalid_parameter

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
RESOURCE_GROUP_NAMES = NameRule(
    1, 90, r"^[-\w._()]*[-\w_()]$",
    "alphanumerics, underscores, parentheses, hyphens and periods; not ending in a period",
)


def resource_group_id(subscription: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{name}"


def subscription_body(subscription: str, tenant: str, display_name: str = "azlab") -> dict:
    return {
        "id": f"/subscriptions/{subscription}",
        "subscriptionId": subscription,
        "tenantId": tenant,
        "displayName": display_name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased",
    }


def build_resource_group(ctx: Context, name: str, body: dict, existing: dict | None) -> dict:
    RESOURCE_GROUP_NAMES.check(name, RESOURCE_GROUP_TYPE)
    if not isinstance(body, dict):
        raise invalid_parameter("body", "The request body must be a JSON object.")
    location = normalise_location(body.get("location") or (existing or {}).get("location"))
    if existing and existing["location"] != location:
        raise ArmError(
            409, "InvalidResourceGroupLocation",
            f"Invalid resource group location '{location}'. The Resource group already exists in location "
            f"'{existing['location']}'.", target="location",
        )
    tags = body.get("tags") if "tags" in body else (existing or {}).get("tags", {})
    if tags is not None and not isinstance(tags, dict):
        raise invalid_parameter("tags", "Tags must be an object of name/value pairs.")
    out = {
        "id": resource_group_id(ctx.subscription_id, existing["name"] if existing else name),
        "name": existing["name"] if existing else name,
        "type": RESOURCE_GROUP_TYPE,
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }
    if tags:
        out["tags"] = {str(k): str(v) for k, v in tags.items()}
    if body.get("managedBy"):
        out["managedBy"] = body["managedBy"]
    return out


def location_list(subscription: str) -> list[dict]:
    return [
        {
            "id": f"/subscriptions/{subscription}/locations/{name}",
            "name": name,
            "displayName": display,
            "regionalDisplayName": f"({display}) {display}",
            "type": "Region",
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended"},
        }
        for name, display in sorted(LOCATIONS.items())
    ]


#: Types Azure registers in the lab's namespaces that the lab does not emulate: listing them
#: answers an empty list (as Azure does for a registered type with no instances), reading
#: one answers 404 ResourceNotFound, writing one says the lab does not serve it.
UNSERVED_TYPES = {
    "Microsoft.Compute": ("images", "galleries", "snapshots", "sshPublicKeys", "proximityPlacementGroups",
                          "diskEncryptionSets", "hostGroups", "capacityReservationGroups", "restorePointCollections",
                          "diskAccesses", "cloudServices"),
    "Microsoft.Network": ("applicationSecurityGroups", "routeTables", "natGateways", "publicIPPrefixes",
                          "privateEndpoints", "privateLinkServices", "applicationGateways", "azureFirewalls",
                          "firewallPolicies", "bastionHosts", "virtualNetworkGateways", "localNetworkGateways",
                          "connections", "networkWatchers", "ddosProtectionPlans", "dnsZones", "privateDnsZones",
                          "trafficManagerProfiles", "frontDoors", "serviceEndpointPolicies", "ipGroups",
                          "networkProfiles", "virtualWans", "virtualHubs", "vpnGateways", "expressRouteCircuits"),
    "Microsoft.Storage": (),
}


def unserved_type(full_type: str) -> bool:
    """A top-level type Azure registers in one of the lab's namespaces that the lab does not serve."""
    namespace, _, name = full_type.partition("/")
    for ns, names in UNSERVED_TYPES.items():
        if ns.lower() == namespace.lower():
            return name.lower() in {n.lower() for n in names}
    return False


def provider_body(subscription: str, namespace: str, types: list[ResourceType]) -> dict:
    return {
        "id": f"/subscriptions/{subscription}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": rtype.full_type.split("/", 1)[1],
                "locations": sorted(LOCATIONS.values()),
                "apiVersions": [rtype.min_api_version],
                "capabilities": "None",
            }
            for rtype in types
        ],
    }


def provider_list(subscription: str, registry: Registry) -> list[dict]:
    return [provider_body(subscription, ns, types) for ns, types in sorted(registry.namespaces().items())]
