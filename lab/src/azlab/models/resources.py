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
    "Microsoft.Compute": ("images", "galleries", "snapshots", "sshPublicKeys",
                          "diskEncryptionSets", "hostGroups", "capacityReservationGroups", "restorePointCollections",
                          "diskAccesses", "cloudServices"),
    "Microsoft.Network": ("natGateways", "publicIPPrefixes",
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


#: The api-versions Azure lists for the lab's types (newest first; a client such as
#: ``az resource`` takes the newest that is not a preview). A type lists those from its
#: ``min_api_version`` on; the lab serves every dated version from there to today.
API_VERSIONS = {
    "Microsoft.Compute": (
        "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01", "2023-07-01", "2023-03-01", "2022-11-01", "2022-08-01",
        "2022-03-01", "2021-11-01", "2021-07-01", "2021-04-01", "2021-03-01", "2020-12-01", "2020-06-01", "2019-12-01",
        "2019-07-01", "2019-03-01", "2018-10-01", "2018-06-01", "2018-04-01", "2017-12-01", "2017-03-30", "2016-08-30",
        "2016-03-30", "2015-06-15"),
    "Microsoft.Compute/disks": (
        "2024-03-02", "2023-10-02", "2023-04-02", "2023-01-02", "2022-07-02", "2022-03-02", "2021-12-01", "2021-08-01",
        "2021-04-01", "2020-12-01", "2020-09-30", "2020-06-30", "2020-05-01", "2019-11-01", "2019-07-01", "2019-03-01",
        "2018-09-30", "2018-06-01", "2018-04-01", "2017-03-30"),
    "Microsoft.Network": (
        "2024-05-01", "2024-03-01", "2024-01-01", "2023-11-01", "2023-09-01", "2023-06-01", "2023-05-01", "2023-04-01",
        "2023-02-01", "2022-11-01", "2022-09-01", "2022-07-01", "2022-05-01", "2022-01-01", "2021-08-01", "2021-05-01",
        "2021-03-01", "2021-02-01", "2020-11-01", "2020-08-01", "2020-07-01", "2020-06-01", "2020-05-01", "2020-04-01",
        "2020-03-01", "2019-12-01", "2019-11-01", "2019-09-01", "2019-08-01", "2019-07-01", "2019-06-01", "2019-04-01",
        "2019-02-01", "2018-12-01", "2018-11-01", "2018-10-01", "2018-08-01", "2018-07-01", "2018-06-01", "2018-04-01",
        "2018-02-01", "2018-01-01", "2017-11-01", "2017-10-01", "2017-09-01", "2017-08-01", "2017-06-01", "2017-04-01",
        "2017-03-01", "2016-12-01", "2016-11-01", "2016-10-01", "2016-09-01", "2016-08-01", "2016-07-01", "2016-06-01",
        "2016-03-30", "2015-06-15"),
    "Microsoft.Storage": (
        "2023-05-01", "2023-01-01", "2022-09-01", "2022-05-01", "2021-09-01", "2021-08-01", "2021-06-01", "2021-04-01",
        "2021-02-01", "2021-01-01", "2019-06-01", "2019-04-01", "2018-11-01", "2018-07-01", "2018-02-01", "2017-10-01",
        "2017-06-01", "2016-12-01", "2016-05-01", "2016-01-01", "2015-06-15"),
    "Microsoft.ManagedIdentity": ("2023-01-31", "2018-11-30"),
    "Microsoft.Resources": ("2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01", "2020-06-01", "2019-10-01",
                            "2019-08-01", "2019-05-01", "2018-05-01", "2017-05-10", "2016-09-01", "2015-11-01"),
}


def api_versions(rtype: ResourceType) -> list[str]:
    """What the provider listing says a type speaks: Azure's versions the lab accepts for it."""
    known = API_VERSIONS.get(rtype.full_type) or API_VERSIONS.get(rtype.namespace) or ()
    return [v for v in known if v[:10] >= rtype.min_api_version[:10]] or [rtype.min_api_version]


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
                "apiVersions": api_versions(rtype),
                "capabilities": "None",
            }
            for rtype in types
        ],
    }


def provider_list(subscription: str, registry: Registry) -> list[dict]:
    return [provider_body(subscription, ns, types) for ns, types in sorted(registry.namespaces().items())]
