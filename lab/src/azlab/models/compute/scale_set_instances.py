"""A Uniform scale set's instances: how they are numbered, named, placed and described,
and the instance resource (GET, list, instanceView, protectionPolicy PUT, DELETE).

Instances are stored under their scale set (``.../virtualMachineScaleSets/{set}/
virtualMachines/{instanceId}``), each with its NIC (``.../virtualMachines/{id}/
networkInterfaces/{nic configuration}``, a real NIC body: the backend pools, the subnet's
address plan and the data plane see it as any NIC). Neither is listed among the resource
group's resources, as on Azure. ``_model`` is the scale set model version an instance runs;
``latestModelApplied`` compares it with the set's.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter

from azlab.models.base import Context, ResourceType, find_named
from azlab.models.compute import scale_set_extensions as extensions, scale_set_overprovision as overprovision
from azlab.models.compute import scheduled_events
from azlab.models.compute.catalog import GUEST_OS
from azlab.models.compute.common import INSTANCE_TYPE, VMSS_TYPE, iso_time, status
from azlab.models.compute.state import POWER_STATES, request_power
from azlab.models.errors import ArmError, invalid_parameter, not_found
from azlab.models.ids import ResourceId
from azlab.models.network.common import NIC_TYPE, ReadOnlyEmbeddedType
from azlab.models.network.lb_nat_pools import release

#: a Uniform scale set's placement group has five update domains
UPDATE_DOMAINS = 5
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def computer_name(prefix: str, instance_id: int) -> str:
    """Azure's computer name of instance N: the prefix and N in base 36, six digits."""
    digits, number = "", instance_id
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if number == 0:
            break
    return prefix + digits.rjust(6, "0")


def instances(ctx: Context, vmss_id: str, *, terminating: bool = False) -> list[dict]:
    """The set's instances in instance ID order; those whose Terminate event is pending
    (``scheduled_events``) only with ``terminating``: the set has let them go (capacity,
    placement, upgrades and repairs count without them), they only wait to be deleted."""
    found = [body for _, body in ctx.list(INSTANCE_TYPE, prefix=vmss_id)
             if terminating or not scheduled_events.terminating(body)]
    return sorted(found, key=lambda body: int(body["instanceId"]))


def place(existing: list[dict], fault_domains: int) -> dict:
    """The emptiest update domain, then the emptiest fault domain (lowest on a tie)."""
    placed = [i.get("_placement") or {} for i in existing]

    def emptiest(key: str, count: int) -> int:
        held = Counter(p.get(key) for p in placed)
        return min(range(count), key=lambda domain: (held[domain], domain))
    return {"platformUpdateDomain": emptiest("platformUpdateDomain", UPDATE_DOMAINS),
            "platformFaultDomain": emptiest("platformFaultDomain", max(fault_domains, 1))}


def choose_scale_in(members: list[dict], count: int, rule: str) -> list[dict]:
    """``count`` instances to remove by the scale-in policy, protected ones never.

    Default: from the fault domain holding the most instances, the highest instance ID
    (Azure: balance zones, then fault domains, then delete the highest instance ID);
    OldestVM / NewestVM: by creation, the oldest or newest first."""
    candidates = [m for m in members if not (m["properties"].get("protectionPolicy") or {}).get("protectFromScaleIn")]
    if len(candidates) < count:
        raise ArmError(409, "OperationNotAllowed", f"The scale set cannot remove {count} instances: only "
                       f"{len(candidates)} are not protected from scale-in (protectionPolicy.protectFromScaleIn).",
                       target="sku.capacity")
    if rule == "OldestVM":
        return sorted(candidates, key=lambda m: int(m["instanceId"]))[:count]
    if rule == "NewestVM":
        return sorted(candidates, key=lambda m: -int(m["instanceId"]))[:count]
    left, chosen = list(members), []
    while len(chosen) < count:
        held = Counter(m["_placement"]["platformFaultDomain"] for m in left)
        pick = max((m for m in left if m in candidates and m not in chosen),
                   key=lambda m: (held[m["_placement"]["platformFaultDomain"]], int(m["instanceId"])))
        chosen.append(pick)
        left.remove(pick)
    return chosen


def instance_body(ctx: Context, vmss: dict, instance_id: int, nic_ids: list[str], placement: dict) -> dict:
    """A new instance of the set's current model."""
    profile = vmss["properties"]["virtualMachineProfile"]
    rid = f"{vmss['id']}/virtualMachines/{instance_id}"
    storage = copy.deepcopy(profile["storageProfile"])
    image = storage["imageReference"]
    storage["imageReference"] = {**image, "exactVersion": vmss["_image_version"]}
    disk_name = f"{vmss['name']}_{vmss['name']}_{instance_id}_OsDisk_1_{uuid.uuid4().hex}"
    storage["osDisk"] = {**storage["osDisk"], "name": disk_name, "managedDisk": {
        **storage["osDisk"].get("managedDisk", {}),
        "id": f"{rid.split('/providers/')[0]}/providers/Microsoft.Compute/disks/{disk_name}"}}
    os_profile = {k: v for k, v in profile["osProfile"].items() if k not in ("computerNamePrefix", "customData")}
    name = computer_name(profile["osProfile"]["computerNamePrefix"], instance_id)
    return {
        "id": rid, "name": f"{vmss['name']}_{instance_id}", "type": INSTANCE_TYPE, "location": vmss["location"],
        "tags": dict(vmss.get("tags") or {}), "instanceId": str(instance_id),
        "sku": {"name": vmss["sku"]["name"], "tier": vmss["sku"].get("tier", "Standard")},
        "properties": {
            "latestModelApplied": True, "modelDefinitionApplied": "VirtualMachineScaleSet",
            "vmId": str(uuid.uuid4()), "hardwareProfile": {},
            "storageProfile": storage, "osProfile": {"computerName": name, **os_profile},
            "networkProfile": {"networkInterfaces": [{"id": nic_id} for nic_id in nic_ids]},
            "networkProfileConfiguration": copy.deepcopy(profile["networkProfile"]),
            "provisioningState": "Succeeded", "timeCreated": iso_time(ctx)},
        "_model": vmss["_model"], "_guest_model": vmss["_guest_model"], "_placement": placement,
        "_power": "running", "_power_goal": "running",
        "_guest": {**vmss["_guest"], "computerName": name}, "_image": dict(vmss["_image"]), "_unlisted": True,
        extensions.APPLIED: extensions.model_extensions(vmss),
    }


def reimage(instance: dict, image_version: str | None = None) -> None:
    """The instance's OS disk is made again from its image (a newer version of it, if given)."""
    instance["_reimages"] = instance.get("_reimages", 0) + 1
    if image_version is not None:
        instance["_image"]["version"] = image_version
        reference = instance["properties"]["storageProfile"]["imageReference"]
        reference["exactVersion"] = image_version


def apply_model(instance: dict, vmss: dict) -> None:
    """The instance takes the set's current model: what its guest is made from (a reimage in
    the data plane, which starts it afresh from the image with the model's osProfile) when
    more than the extensions changed, and the model's extensions (the data plane runs the new ones)."""
    instance["_model"] = vmss["_model"]
    instance["_guest_model"] = vmss["_guest_model"]
    extensions.apply(instance, vmss)
    instance["_guest"] = {**vmss["_guest"], "computerName": instance["properties"]["osProfile"]["computerName"]}
    instance["_image"] = dict(vmss["_image"])
    image = vmss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    instance["properties"]["storageProfile"]["imageReference"] = {**image, "exactVersion": vmss["_image_version"]}


def apply_extensions(instance: dict, vmss: dict) -> None:
    """extensionRollingUpgrade: the instance takes the model's extensions only (its guest stays);
    that makes it run the model when nothing else differs."""
    extensions.apply(instance, vmss)
    if instance.get("_guest_model") == vmss["_guest_model"]:
        instance["_model"] = vmss["_model"]


def instance_provisioning_state(instance: dict, no_guest_reason: str | None) -> str:
    """Deleting while its Terminate event is pending; Failed when an extension failed in its
    guest, as on Azure."""
    if scheduled_events.terminating(instance):
        return "Deleting"
    return "Failed" if extensions.outcome(instance, no_guest_reason) == extensions.FAILED else "Succeeded"


def instance_view(ctx: Context, instance: dict) -> dict:
    power = instance.get("_power", "running")
    created = instance["properties"].get("timeCreated")
    failed = extensions.failure(instance, ctx.no_guest_reason)
    view = {**instance["_placement"], "computerName": instance["properties"]["osProfile"]["computerName"]}
    if power != "deallocated":
        view.update({"osName": GUEST_OS[0], "osVersion": GUEST_OS[1]})
    view["disks"] = [{"name": instance["properties"]["storageProfile"]["osDisk"]["name"],
                      "statuses": [status("ProvisioningState/succeeded", "Provisioning succeeded", time=created)]}]
    provisioning = (status("ProvisioningState/deleting", "Deleting") if scheduled_events.terminating(instance) else
                    status("ProvisioningState/failed/VMExtensionProvisioningError", "Provisioning failed",
                           failed["message"], level="Error") if failed else
                    status("ProvisioningState/succeeded", "Provisioning succeeded", time=created))
    view["statuses"] = [provisioning, status(f"PowerState/{power}", POWER_STATES[power])]
    if instance.get(extensions.APPLIED):
        view["extensions"] = extensions.views(instance, ctx.no_guest_reason)
    health = extensions.vm_health_view(instance)
    if health is not None:
        view["vmHealth"] = health
    return view


def check_instance_ids(ctx: Context, vmss_id: str, body, required: bool) -> list[dict]:
    """The instances an action names ({"instanceIds": [...]}); all of them when none is named."""
    ids = (body or {}).get("instanceIds") if isinstance(body, dict) else None
    members = instances(ctx, vmss_id, terminating=True)
    if not ids:
        if required:
            raise ArmError(400, "InvalidParameter", "Required parameter 'instanceIds' is missing (null).",
                           target="instanceIds")
        return [m for m in members if not scheduled_events.terminating(m)]
    by_id = {m["instanceId"]: m for m in members}
    unknown = [str(i) for i in ids if str(i) not in by_id]
    if unknown:
        raise ArmError(404, "NotFound", f"The instances {', '.join(unknown)} of the scale set "
                       f"{vmss_id.rsplit('/', 1)[-1]} cannot be found.", target="instanceIds")
    return [by_id[str(i)] for i in ids]


class ScaleSetInstanceType(ResourceType):
    """``virtualMachineScaleSets/{set}/virtualMachines/{instanceId}``: made by the set, never by a PUT."""

    full_type = INSTANCE_TYPE
    min_api_version = "2017-03-30"
    create_status = 200
    views = {"instanceView": "view_instance_view"}
    actions = {"start": "action_start", "powerOff": "action_power_off", "restart": "action_restart",
               "deallocate": "action_deallocate", "reimage": "action_reimage"}

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        if existing is None:
            raise not_found(self.full_type, rid.name, rid.resource_group)
        out = copy.deepcopy(existing)
        policy = (body.get("properties") or {}).get("protectionPolicy")
        if policy is not None:
            if not isinstance(policy, dict):
                raise invalid_parameter("properties.protectionPolicy", "protectionPolicy must be an object.")
            current = out["properties"].get("protectionPolicy") or {}
            out["properties"]["protectionPolicy"] = {
                name: bool(policy.get(name, current.get(name, False)))
                for name in ("protectFromScaleIn", "protectFromScaleSetActions")}
        out["tags"] = {str(k): str(v) for k, v in (body.get("tags") or existing.get("tags") or {}).items()}
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        out = copy.deepcopy(body)
        vmss = ctx.get(str(ResourceId.parse(body["id"]).parent)) or {}
        out["properties"]["latestModelApplied"] = body.get("_model") == vmss.get("_model")
        out["properties"]["provisioningState"] = instance_provisioning_state(body, ctx.no_guest_reason)
        return out

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        body = copy.deepcopy(body)
        if "instanceview" in {part.strip().lower() for part in expand.split(",")}:
            body["properties"]["instanceView"] = instance_view(ctx, body)
        return body

    def view_instance_view(self, ctx: Context, rid: ResourceId) -> dict:
        return instance_view(ctx, self.get_item(ctx, rid))

    def on_deleted(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """One instance fewer: the set's capacity follows, as on Azure, and its NAT pool ports are free."""
        release(ctx, str(rid))
        vmss = ctx.get(str(rid.parent))
        if vmss is not None:
            overprovision.after_delete(vmss, instances(ctx, vmss["id"]), [body])
            ctx.store.put(vmss["id"], VMSS_TYPE, vmss)

    def action_start(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        request_power(ctx.store, self.get_item(ctx, rid), "running")

    def action_power_off(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        request_power(ctx.store, self.get_item(ctx, rid), "stopped")

    def action_restart(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        request_power(ctx.store, self.get_item(ctx, rid), "running", restart=True)

    def action_deallocate(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        request_power(ctx.store, self.get_item(ctx, rid), "deallocated")

    def action_reimage(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        instance = self.get_item(ctx, rid)
        reimage(instance)
        ctx.store.put(instance["id"], INSTANCE_TYPE, instance)


class ScaleSetNicType(ResourceType):
    """An instance's NIC, served read-only under the instance (Azure: Microsoft.Network answers
    ``.../virtualMachineScaleSets/{set}/virtualMachines/{id}/networkInterfaces[/{name}]``); the set
    makes and deletes it. Stored as a NIC, so pools, NAT rules and the data plane see it as any."""

    full_type = INSTANCE_TYPE + "/networkInterfaces"
    stored_type = NIC_TYPE
    min_api_version = "2017-03-30"
    writable = False

    def render(self, ctx: Context, body: dict) -> dict:
        """Azure names the instance as the NIC's virtual machine, and the NIC configuration it
        was made from says whether it is the primary one."""
        instance_id = str(ResourceId.parse(body["id"]).parent)
        instance = ctx.get(instance_id) or {}
        configs = ((instance.get("properties") or {}).get("networkProfileConfiguration") or {}).get(
            "networkInterfaceConfigurations") or []
        config = find_named(configs, body["name"]) or {}
        body["properties"]["virtualMachine"] = {"id": instance_id}
        body["properties"]["primary"] = bool(config.get("properties", {}).get("primary", len(configs) == 1))
        return body


class ScaleSetNicIpConfigurationType(ReadOnlyEmbeddedType):
    """An instance NIC's ip configurations (Azure: ``.../virtualMachines/{id}/networkInterfaces/{nic}/
    ipConfigurations[/{name}]``): what the LB's pools, NAT rules and rule health name."""

    full_type = INSTANCE_TYPE + "/networkInterfaces/ipConfigurations"
    embedded_in = "ipConfigurations"
    min_api_version = ScaleSetNicType.min_api_version


class ScaleSetNicListType(ScaleSetNicType):
    """``.../virtualMachineScaleSets/{set}/networkInterfaces``: the NICs of every instance of the set."""

    full_type = VMSS_TYPE + "/networkInterfaces"
