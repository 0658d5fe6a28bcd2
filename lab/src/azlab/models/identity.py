"""Microsoft.ManagedIdentity/userAssignedIdentities: identities a VM can be given.

A user-assigned identity is a plain tracked resource whose service principal Azure makes
at once (synchronous PUT: 201, then 200): ``tenantId``, ``principalId`` and ``clientId``
are read-only and fixed at creation. The lab issues no tokens for them (no IMDS in the
guest): a VM can name them, as on Azure, and nothing more.
"""

from __future__ import annotations

import uuid

from azlab.models.base import Context, Registry, ResourceType
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId, same_id

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")


class UserAssignedIdentityType(ResourceType):
    full_type = IDENTITY_TYPE
    min_api_version = "2018-11-30"
    long_running = False

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        kept = (existing or {}).get("properties") or {}
        out["properties"] = {"tenantId": kept.get("tenantId") or ctx.tenant_id,
                             "principalId": kept.get("principalId") or str(uuid.uuid4()),
                             "clientId": kept.get("clientId") or str(uuid.uuid4())}
        return out


def resource_identity(ctx: Context, sent: dict | None, existing: dict | None, owner: str) -> dict | None:
    """The ``identity`` block of a resource (a VM) as Azure keeps it: ``type: None`` removes
    it; every user-assigned identity must exist; a system-assigned one gets its principal."""
    if sent is None:
        return existing
    if not isinstance(sent, dict):
        raise ArmError(400, "InvalidParameter", "The value of parameter identity is invalid.", target="identity")
    kind = next((t for t in IDENTITY_TYPES if t.replace(" ", "").lower() == str(sent.get("type", "")).replace(" ", "").lower()),
                None)
    if kind is None:
        raise ArmError(400, "InvalidParameter", f"The value '{sent.get('type')}' of parameter 'identity.type' is invalid. "
                       f"Allowed values are {', '.join(repr(t) for t in IDENTITY_TYPES)}.", target="identity.type")
    if kind == "None":
        return None
    out: dict = {"type": kind}
    if "SystemAssigned" in kind:
        old = existing if existing and "SystemAssigned" in existing.get("type", "") else {}
        out["principalId"] = old.get("principalId") or str(uuid.uuid4())
        out["tenantId"] = old.get("tenantId") or ctx.tenant_id
    named = sent.get("userAssignedIdentities") or {}
    if "UserAssigned" in kind:
        if not isinstance(named, dict) or not named:
            raise ArmError(400, "InvalidParameter", "The identity type 'UserAssigned' needs at least one entry in "
                           "'identity.userAssignedIdentities'.", target="identity.userAssignedIdentities")
        kept = (existing or {}).get("userAssignedIdentities") or {}
        out["userAssignedIdentities"] = {}
        for identity_id in named:
            found = ctx.get(identity_id) if IDENTITY_TYPE.lower() in identity_id.lower() else None
            if found is None:
                raise ArmError(400, "FailedIdentityOperation", f"Identity operation for resource '{owner}' failed: the "
                               f"user assigned identity '{identity_id}' was not found.",
                               target="identity.userAssignedIdentities")
            previous = next((v for k, v in kept.items() if same_id(k, identity_id)), None)
            out["userAssignedIdentities"][found["id"]] = previous or {
                "principalId": found["properties"]["principalId"], "clientId": found["properties"]["clientId"]}
    elif named:
        raise ArmError(400, "InvalidParameter", "'identity.userAssignedIdentities' needs the identity type "
                       "'UserAssigned'.", target="identity.userAssignedIdentities")
    return out


def register(registry: Registry) -> None:
    registry.register(UserAssignedIdentityType())
