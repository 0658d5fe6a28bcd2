"""Microsoft.Network/applicationSecurityGroups: named groups of NIC ip configurations.

A NIC ip configuration joins a group by naming it (``applicationSecurityGroups``); an NSG
rule names groups as its source or destination (``source/destinationApplicationSecurityGroups``)
and then matches the addresses of the group's members - the data plane expands them
(``dataplane/security.py``). A group in use by a NIC or a rule cannot be deleted.
"""

from __future__ import annotations

from azlab.models.base import Context, ResourceType, resource_guid
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.common import MIN_API_VERSION, NIC_TYPE, NSG_TYPE, without
from azlab.models.network.values import props_of

ASG_TYPE = "Microsoft.Network/applicationSecurityGroups"


def members(ctx: Context, asg_id: str) -> list[tuple[dict, dict]]:
    """(NIC body, ip configuration) of every ip configuration in the group."""
    return [(nic, config) for _, nic in ctx.list(NIC_TYPE)
            for config in (nic.get("properties") or {}).get("ipConfigurations") or []
            if any(same_id(ref.get("id"), asg_id) for ref in (config.get("properties") or {}).get(
                "applicationSecurityGroups") or [])]


def rules_naming(ctx: Context, asg_id: str) -> list[str]:
    """IDs of the security rules that name the group."""
    out = []
    for _, nsg in ctx.list(NSG_TYPE):
        for rule in (nsg.get("properties") or {}).get("securityRules") or []:
            props = rule.get("properties") or {}
            refs = [*(props.get("sourceApplicationSecurityGroups") or []),
                    *(props.get("destinationApplicationSecurityGroups") or [])]
            if any(same_id(ref.get("id"), asg_id) for ref in refs):
                out.append(rule["id"])
    return out


class ApplicationSecurityGroups(ResourceType):
    full_type = ASG_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        without(props_of(body, "properties"), "provisioningState", "resourceGuid")
        guid = (existing or {}).get("properties", {}).get("resourceGuid") or resource_guid()
        out["properties"] = {"provisioningState": "Succeeded", "resourceGuid": guid}
        return out

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        users = [config["id"] for _, config in members(ctx, body["id"])] + rules_naming(ctx, body["id"])
        if users:
            raise ArmError(400, "InUseApplicationSecurityGroupCannotBeDeleted",  # (unverified code)
                           f"Application security group {body['id']} cannot be deleted because it is in use by "
                           f"{', '.join(users)}. Remove the references first.")

    def describe(self, ctx: Context, body: dict) -> str:
        return f"{len(members(ctx, body['id']))} ip configurations"
