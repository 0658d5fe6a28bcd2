"""Microsoft.Compute/virtualMachines: the VM resource, its instance view and power actions.

A VM joins an availability set only when it is created; its update and fault domain are
fixed then. Power state and placement are lab-internal keys (see ``state``).
"""

from __future__ import annotations

import copy
import uuid
from urllib.parse import urlparse

from azlab.models.base import Context, NameRule, ResourceType, require_props
from azlab.models.errors import ArmError, invalid_parameter, invalid_reference
from azlab.models.identity import resource_identity
from azlab.models.ids import ResourceId, same_id
from azlab.models.compute import extensions, run_command, storage_profile
from azlab.models.compute.availability_sets import assign_domains
from azlab.models.compute.catalog import GUEST_OS, VM_SIZES, find_image, find_size
from azlab.models.compute.custom_script import TIMEOUT_SECONDS
from azlab.models.compute.common import (
    AVSET_TYPE, EXTENSION_TYPE, NO_WINDOWS_GUEST, STORAGE_ACCOUNT_TYPE, VM_TYPE, azure_upper_id, cascade_delete, iso_time,
    property_change_not_allowed, required_parameter, status, sub_id, vm_holding_nic,
)
from azlab.models.compute.guest import build_os_profile, check_os_profile_update
from azlab.models.compute.proximity_placement_groups import check_group_change, group_of_vm, placement_group, vm_group
from azlab.models.compute.state import POWER_STATES, request_power

# Properties a VM keeps as the client sent them (the lab gives them no behaviour).
PASSTHROUGH = ("licenseType", "securityProfile", "additionalCapabilities", "priority", "evictionPolicy",
               "billingProfile", "scheduledEventsProfile", "extensionsTimeBudget")
LINUX_AGENT_VERSION = "2.11.1.12"
MANAGED_AVSET_RULE = ("Addition of a VM with managed disks to non-managed Availability Set or addition of a VM with "
                      "blob based disks to managed Availability Set is not supported. Please create an Availability "
                      "Set with 'Aligned' SKU in order to add a VM with managed disks to it.")


def _size(profile, existing: dict | None):
    name = profile.get("vmSize") if isinstance(profile, dict) else None
    if name is None and existing is not None:
        name = existing["properties"]["hardwareProfile"]["vmSize"]
    if name is None:
        raise required_parameter("hardwareProfile.vmSize")
    size = find_size(name)
    if size is None:
        raise invalid_parameter("vmSize", f"The requested VM size {name} is not available in the current region. "
                                f"The sizes available in the current region are: {', '.join(s.name for s in VM_SIZES.values())}. "
                                "Find out more on the available VM sizes in each region at https://aka.ms/azure-regions.")
    return size


def _network_profile(ctx: Context, rid: ResourceId, location: str, profile) -> dict:
    if not isinstance(profile, dict):
        raise required_parameter("networkProfile")
    if profile.get("networkInterfaceConfigurations"):
        raise invalid_parameter("networkProfile.networkInterfaceConfigurations", "The lab creates VMs on existing "
                                "network interfaces (networkProfile.networkInterfaces) only.")
    refs = profile.get("networkInterfaces") or []
    if not refs:
        raise invalid_parameter("networkProfile.networkInterfaces",
                                f"Virtual machine {rid.name} must have at least one network interface.")
    out = []
    for ref in refs:
        nic_id = sub_id(ref)
        nic = ctx.require_reference(nic_id, str(rid), "networkProfile.networkInterfaces.id")
        if nic.get("location") not in (None, location):
            raise invalid_reference(nic_id, str(rid), "networkProfile.networkInterfaces.id")
        holder = vm_holding_nic(ctx, nic_id, except_vm=str(rid))
        if holder is not None:
            raise ArmError(400, "NicInUse", f"Network Interface {nic['id']} is used by existing VM {holder['id']}.")
        if any(same_id(nic_id, o["id"]) for o in out):
            raise invalid_parameter("networkProfile.networkInterfaces", f"Network interface {nic_id} is referenced twice.")
        entry = {"id": nic_id}
        if isinstance(ref.get("properties"), dict) and ref["properties"]:
            entry["properties"] = {k: v for k, v in ref["properties"].items() if k in ("primary", "deleteOption")}
        out.append(entry)
    primaries = sum(bool(e.get("properties", {}).get("primary")) for e in out)
    if len(out) > 1 and primaries != 1:
        raise invalid_parameter("networkProfile.networkInterfaces",
                                f"Virtual machine {rid.name} must have one network interface set as the primary.")
    return {"networkInterfaces": out}


def _availability_set(ctx: Context, location: str, ref) -> dict | None:
    """The set a new VM joins (it must be a managed, 'Aligned' set: lab VMs use managed disks)."""
    set_id = sub_id(ref)
    if not set_id:
        return None
    avset = ctx.lookup(set_id)
    if avset is None or avset.get("type", "").lower() != AVSET_TYPE.lower():
        raise ArmError(404, "NotFound", f"The Availability Set {set_id} cannot be found.", target="availabilitySet.id")
    if avset["location"] != location:
        raise invalid_parameter("availabilitySet.id", f"The Availability Set {set_id} is in location "
                                f"'{avset['location']}'; the virtual machine must be in the same location.")
    if avset["sku"]["name"] != "Aligned":
        raise ArmError(400, "BadRequest", MANAGED_AVSET_RULE, target="availabilitySet")
    return avset


def _diagnostics(ctx: Context, profile) -> dict | None:
    boot = profile.get("bootDiagnostics") if isinstance(profile, dict) else None
    if not isinstance(boot, dict):
        return None
    out = {"enabled": bool(boot.get("enabled", False))}
    uri = boot.get("storageUri")
    if uri:
        account = (urlparse(uri).hostname or "").split(".")[0]
        if not any(body["name"] == account for _, body in ctx.list(STORAGE_ACCOUNT_TYPE)):
            raise ArmError(400, "StorageAccountNotFound", f"Storage account '{account}' not found. Ensure storage "
                           "account is not deleted and belongs to the same Azure location as the VM.",
                           target="diagnosticsProfile.bootDiagnostics.storageUri")
        out["storageUri"] = uri
    return {"bootDiagnostics": out}


def _top_level(ctx: Context, out: dict, body: dict, existing: dict | None) -> None:
    """plan, zones: as sent, or as they were; identity by Azure's rules."""
    for key in ("plan", "zones"):
        value = body.get(key, (existing or {}).get(key))
        if value:
            out[key] = value
    identity = resource_identity(ctx, body.get("identity"), (existing or {}).get("identity"), out["id"])
    if identity:
        out["identity"] = identity


class VirtualMachineType(ResourceType):
    full_type = VM_TYPE
    min_api_version = "2015-06-15"
    name_rule = NameRule(1, 64)
    actions = {"start": "action_start", "powerOff": "action_power_off", "restart": "action_restart",
               "deallocate": "action_deallocate", "runCommand": "action_run_command", "generalize": "action_generalize"}
    sync_actions = frozenset({"generalize"})
    #: a run command may take Azure's 90 minutes
    gate_timeout = TIMEOUT_SECONDS + 600.0
    views = {"instanceView": "view_instance_view", "vmSizes": "view_vm_sizes"}

    # -- create and update ---------------------------------------------------------------------

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type)
        size = _size(props.get("hardwareProfile"), existing)
        _top_level(ctx, out, body, existing)
        if existing is None:
            return self._create(ctx, rid, out, props, size)
        return self._update(ctx, rid, out, props, size, existing)

    def _create(self, ctx: Context, rid: ResourceId, out: dict, props: dict, size) -> dict:
        location = out["location"]
        plan = storage_profile.plan_create(ctx, rid, location, props.get("storageProfile"), size)
        os_profile = guest = None
        if plan.profile["osDisk"]["createOption"] == "FromImage":
            os_profile, guest = build_os_profile(rid.name, props.get("osProfile"), plan.os_type)
        elif props.get("osProfile"):
            raise invalid_parameter("osProfile", "Parameter 'osProfile' is not allowed.")
        network = _network_profile(ctx, rid, location, props.get("networkProfile"))
        avset = _availability_set(ctx, location, props.get("availabilitySet"))
        group = vm_group(ctx, location, props.get("proximityPlacementGroup"), avset)
        diagnostics = _diagnostics(ctx, props.get("diagnosticsProfile"))
        self._check_references(ctx, rid, props)
        properties = {"vmId": str(uuid.uuid4()), "hardwareProfile": {"vmSize": size.name},
                      "storageProfile": plan.profile}
        if os_profile:
            properties["osProfile"] = os_profile
        properties["networkProfile"] = network
        if diagnostics:
            properties["diagnosticsProfile"] = diagnostics
        if avset:
            properties["availabilitySet"] = {"id": avset["id"]}  # and the set's group is the VM's
        elif group:
            properties["proximityPlacementGroup"] = {"id": group}
        properties.update(self._passthrough(props))
        properties.update({"provisioningState": "Succeeded", "timeCreated": iso_time(ctx)})
        out["properties"] = properties
        # every check passed: now take a domain slot and create the disks
        out["_placement"] = assign_domains(ctx, avset) if avset else {"platformUpdateDomain": 0, "platformFaultDomain": 0}
        out["_power"] = out["_power_goal"] = "running"
        if props.get("userData"):
            out["_userData"] = props["userData"]
        if guest is not None:
            plan.give_guest(guest)
        plan.apply(ctx)
        return out

    def _update(self, ctx: Context, rid: ResourceId, out: dict, props: dict, size, existing: dict) -> dict:
        current = existing["properties"]
        new = copy.deepcopy(current)
        new["hardwareProfile"] = {"vmSize": size.name}
        plan = storage_profile.plan_update(ctx, rid, out["location"], existing, props.get("storageProfile"), size)
        new["storageProfile"] = plan.profile
        guest = (ctx.get(current["storageProfile"]["osDisk"]["managedDisk"]["id"]) or {}).get("_guest", {})
        check_os_profile_update(current.get("osProfile"), props.get("osProfile"), guest)
        if "networkProfile" in props:
            new["networkProfile"] = _network_profile(ctx, rid, out["location"], props["networkProfile"])
        wanted_set = sub_id(props.get("availabilitySet"))
        if wanted_set and not same_id(wanted_set, sub_id(current.get("availabilitySet"))):
            # Azure places a VM in a set only at creation; recreate it from its OS disk instead
            raise property_change_not_allowed("availabilitySet.id")
        self._update_group(ctx, rid, props, existing, new)
        if "diagnosticsProfile" in props:
            new.pop("diagnosticsProfile", None)
            diagnostics = _diagnostics(ctx, props["diagnosticsProfile"])
            if diagnostics:
                new["diagnosticsProfile"] = diagnostics
        self._check_references(ctx, rid, props)
        new.update(self._passthrough(props))
        new["provisioningState"] = "Succeeded"
        out["properties"] = new
        for key, value in existing.items():
            if key.startswith("_") and key != "_failure":  # a new PUT tries a failed VM again
                out[key] = value
        if props.get("userData"):
            out["_userData"] = props["userData"]
        plan.apply(ctx)
        return out

    @staticmethod
    def _update_group(ctx: Context, rid: ResourceId, props: dict, existing: dict, new: dict) -> None:
        """A group named on update (omitted: unchanged): a VM in a set follows its set; any
        other VM changes group only while deallocated."""
        if "proximityPlacementGroup" not in props:
            return
        avset = ctx.get(sub_id(existing["properties"].get("availabilitySet")) or "")
        if avset is not None:
            vm_group(ctx, existing["location"], props["proximityPlacementGroup"], avset)
            return
        wanted = placement_group(ctx, existing["location"], props["proximityPlacementGroup"], "proximityPlacementGroup.id")
        allocated = [existing["id"]] if existing.get("_power") != "deallocated" else []
        check_group_change(sub_id(existing["properties"].get("proximityPlacementGroup")), wanted, allocated,
                           f"virtual machine {rid.name}")
        new.pop("proximityPlacementGroup", None)
        if wanted:
            new["proximityPlacementGroup"] = {"id": wanted}

    @staticmethod
    def _check_references(ctx: Context, rid: ResourceId, props: dict) -> None:
        for prop in ("host", "hostGroup"):
            if sub_id(props.get(prop)):
                ctx.require_reference(props[prop]["id"], str(rid), prop)

    @staticmethod
    def _passthrough(props: dict) -> dict:
        return {key: props[key] for key in PASSTHROUGH if props.get(key) is not None}

    # -- reads ---------------------------------------------------------------------------------

    def render(self, ctx: Context, body: dict) -> dict:
        out = copy.deepcopy(body)
        props = out["properties"]
        if sub_id(props.get("availabilitySet")):
            props["availabilitySet"] = {"id": azure_upper_id(props["availabilitySet"]["id"])}
        group = group_of_vm(ctx, body)
        props.pop("proximityPlacementGroup", None)
        if group:
            props["proximityPlacementGroup"] = {"id": group}
        storage = props["storageProfile"]
        for disk in [storage["osDisk"], *storage.get("dataDisks", [])]:
            current = ctx.get(disk["managedDisk"]["id"])
            if current is not None:  # a disk resized or re-tiered through its own API
                disk["diskSizeGB"] = current["properties"]["diskSizeGB"]
                disk["managedDisk"]["storageAccountType"] = current["sku"]["name"]
        exts = self._extensions(ctx, body)
        if exts:
            out["resources"] = [{k: v for k, v in ext.items() if not k.startswith("_")} for ext in exts]
        return out

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        wanted = {part.strip().lower() for part in expand.split(",")}
        body = copy.deepcopy(body)
        if "instanceview" in wanted:
            body["properties"]["instanceView"] = self.instance_view(ctx, body)
        if "userdata" in wanted and body.get("_userData"):
            body["properties"]["userData"] = body["_userData"]
        return body

    @staticmethod
    def _extensions(ctx: Context, vm: dict) -> list[dict]:
        return [ext for _, ext in ctx.list(EXTENSION_TYPE, prefix=vm["id"])]

    def instance_view(self, ctx: Context, vm: dict) -> dict:
        props = vm["properties"]
        storage = props["storageProfile"]
        os_type = storage["osDisk"]["osType"]
        power = vm.get("_power", "running")
        os_disk = ctx.get(storage["osDisk"]["managedDisk"]["id"]) or {}
        image = find_image(**{k: os_disk.get("_image", {}).get(k) for k in ("publisher", "offer", "sku")})
        placement = vm.get("_placement", {})
        view = {"platformUpdateDomain": placement.get("platformUpdateDomain", 0),
                "platformFaultDomain": placement.get("platformFaultDomain", 0)}
        exts = self._extensions(ctx, vm)
        if power != "deallocated":
            computer_name = os_disk.get("_guest", {}).get("computerName")
            if computer_name:
                view["computerName"] = computer_name
            if image and os_type == "Linux":
                # what the guest really runs: the lab's one Linux image
                view.update({"osName": GUEST_OS[0], "osVersion": GUEST_OS[1]})
            view["vmAgent"] = self._agent(ctx, os_type, power, exts, image)
        if image:
            view["hyperVGeneration"] = image.generation
        created = props.get("timeCreated")
        view["disks"] = [{"name": d["name"], "statuses": [status("ProvisioningState/succeeded", "Provisioning succeeded",
                                                                 time=created)]}
                         for d in [storage["osDisk"], *storage.get("dataDisks", [])]]
        if exts:
            view["extensions"] = [extensions.instance_view(ext) for ext in exts]
        boot = props.get("diagnosticsProfile", {}).get("bootDiagnostics", {})
        if boot.get("enabled"):
            view["bootDiagnostics"] = self._boot_diagnostics(vm, boot.get("storageUri"))
        failure = vm.get("_failure")
        provisioning = (status(f"ProvisioningState/failed/{failure['code']}", "Provisioning failed", failure["message"],
                               level="Error") if failure else
                        status("ProvisioningState/succeeded", "Provisioning succeeded", time=created))
        view["statuses"] = [provisioning, status(f"PowerState/{power}", POWER_STATES[power])]
        if vm.get("_generalized"):
            view["statuses"].insert(1, status("OSState/generalized", "VM generalized"))
        return view

    @staticmethod
    def _agent(ctx: Context, os_type: str, power: str, exts: list[dict], image) -> dict:
        if os_type == "Windows":
            return {"vmAgentVersion": "Unknown",
                    "statuses": [status("ProvisioningState/Unavailable", "Not Ready", NO_WINDOWS_GUEST, level="Warning")]}
        if power != "running":
            return {"vmAgentVersion": "Unknown", "statuses": [status(
                "ProvisioningState/Unavailable", "Not Ready", "VM status blob is found but not yet populated.",
                level="Warning")]}
        running = "Guest Agent is running"
        if image is not None and (image.os_name, image.os_version) != GUEST_OS:
            running += (f"; azlab: the guest runs {GUEST_OS[0].capitalize()} {GUEST_OS[1]} (the lab's one Linux image) "
                        f"for {image.urn} ({image.os_name} {image.os_version})")
        agent = {"vmAgentVersion": LINUX_AGENT_VERSION,
                 "statuses": [status("ProvisioningState/succeeded", "Ready", running, iso_time(ctx))]}
        if exts:
            agent["extensionHandlers"] = [extensions.handler_status(ext) for ext in exts]
        return agent

    @staticmethod
    def _boot_diagnostics(vm: dict, storage_uri: str | None) -> dict:
        """Blob URIs for a storage-account target; managed boot diagnostics have none."""
        if not storage_uri:
            return {}
        vm_id, name = vm["properties"]["vmId"], vm["name"]
        container = f"{storage_uri.rstrip('/')}/bootdiagnostics-{name.lower()[:9]}-{vm_id}"
        return {"consoleScreenshotBlobUri": f"{container}/{name}.{vm_id}.screenshot.bmp",
                "serialConsoleLogBlobUri": f"{container}/{name}.{vm_id}.serialconsole.log"}

    def view_instance_view(self, ctx: Context, rid: ResourceId) -> dict:
        return self.instance_view(ctx, self.get_item(ctx, rid))

    def view_vm_sizes(self, ctx: Context, rid: ResourceId) -> dict:
        self.get_item(ctx, rid)
        return {"value": [size.body() for size in VM_SIZES.values()]}

    # -- power actions (POST, long-running) ---------------------------------------------------------

    def _set_power(self, ctx: Context, vm: dict, state: str, restart: bool = False) -> None:
        request_power(ctx.store, vm, state, restart)

    @staticmethod
    def _require_allocated(vm: dict, operation: str) -> None:
        if vm.get("_power") in ("deallocated", "deallocating"):
            raise ArmError(409, "OperationNotAllowed", f"Operation '{operation}' is not allowed on VM '{vm['name']}' "
                           "since the VM is either deallocated or marked to be deallocated.")

    @staticmethod
    def _require_not_generalized(vm: dict, operation: str) -> None:
        if vm.get("_generalized"):
            raise ArmError(409, "OperationNotAllowed", f"Operation '{operation}' is not allowed on VM '{vm['name']}' "
                           "since the VM is generalized.")

    def action_start(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = self.get_item(ctx, rid)
        self._require_not_generalized(vm, "Start VM")
        self._set_power(ctx, vm, "running")

    def action_generalize(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Marks the OS state generalized (an image may be captured); the VM never starts again."""
        vm = self.get_item(ctx, rid)
        if vm.get("_power") not in ("stopped", "deallocated"):
            raise ArmError(409, "OperationNotAllowed", f"Operation 'generalize' is not allowed on VM '{vm['name']}' "
                           "since the VM is running. Stop or deallocate it first.")
        vm["_generalized"] = True
        ctx.store.put(vm["id"], self.full_type, vm)

    def action_power_off(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = self.get_item(ctx, rid)
        self._require_allocated(vm, "powerOff")
        self._set_power(ctx, vm, "stopped")

    def action_restart(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = self.get_item(ctx, rid)
        self._require_allocated(vm, "restart")
        if vm.get("_power") != "running":
            raise ArmError(409, "OperationNotAllowed", "The operation requires the VM to be running (or set to run).")
        self._set_power(ctx, vm, "running", restart=True)

    def action_deallocate(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        self._set_power(ctx, self.get_item(ctx, rid), "deallocated")

    # -- run command (POST, long-running: ends when the guest ran it) -----------------------------

    def action_run_command(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = self.get_item(ctx, rid)
        vm["_run_command"] = run_command.request(vm, body, ctx.no_guest_reason)
        ctx.store.put(vm["id"], self.full_type, vm)

    def operation_gate(self, ctx: Context, resource_id: str, kind: str, action: str | None = None):
        if action != "runCommand":
            return None
        token = ((ctx.get(resource_id) or {}).get("_run_command") or {}).get("token")
        return lambda: run_command.outcome(ctx.get(resource_id), token)

    # -- delete ----------------------------------------------------------------------------------

    def on_deleted(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Disks and NICs created with deleteOption=Delete go with the VM; the rest stay, detached."""
        props = body["properties"]
        storage = props["storageProfile"]
        for disk in [storage["osDisk"], *storage.get("dataDisks", [])]:
            if disk.get("deleteOption") == "Delete":
                cascade_delete(ctx, disk["managedDisk"]["id"])
        for nic in props["networkProfile"]["networkInterfaces"]:
            if (nic.get("properties") or {}).get("deleteOption") == "Delete":
                cascade_delete(ctx, nic["id"])

    def describe(self, ctx: Context, body: dict) -> str:
        placement = body.get("_placement", {})
        return (f"{body['properties']['hardwareProfile']['vmSize']} {body.get('_power')} "
                f"UD{placement.get('platformUpdateDomain', 0)}/FD{placement.get('platformFaultDomain', 0)}")
