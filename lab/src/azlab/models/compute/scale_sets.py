"""``Microsoft.Compute/virtualMachineScaleSets`` (Uniform orchestration): the model, its
policies, and the instances a capacity asks for (``scale_set_instances``).

A PUT (or PATCH) validates the whole set by Azure's rules (``scale_set_rules``), then
brings the instances to ``sku.capacity``: new ones take the next instance ID, the emptiest
update and fault domain and their NICs' addresses from the subnet; a lower capacity removes
instances by the scale-in policy. A changed ``virtualMachineProfile`` is a new model
(``_model``): with upgradePolicy Automatic every instance takes it, with Manual an instance
takes it on ``manualupgrade``, with Rolling a rolling upgrade starts (``rolling_upgrades``:
the data plane runs its batches, because they wait for the instances' health).
"""

from __future__ import annotations

import copy
import json
import uuid

from azlab.models.base import Context, NameRule, ResourceType, require_props
from azlab.models.compute import rolling_upgrades, scale_set_extensions as extensions, scale_set_rules as rules
from azlab.models.compute import scale_set_overprovision as overprovision, scale_set_repairs as auto_repairs
from azlab.models.compute import scheduled_events
from azlab.models.compute.catalog import VM_SIZES, find_image, find_size
from azlab.models.compute.common import (
    VMSS_TYPE, choice, iso_time, property_change_not_allowed, required_parameter, status,
)
from azlab.models.compute.guest import build_os_profile
from azlab.models.compute.scale_set_instances import (
    INSTANCE_TYPE, apply_model, check_instance_ids, choose_scale_in, instance_body, instance_provisioning_state,
    instances, place, reimage,
)
from azlab.models.compute.state import request_power
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId
from azlab.models.network.common import NIC_TYPE
from azlab.models.network.lb_nat_pools import instance_ip_configuration, release

ORCHESTRATION_MODES = ("Uniform", "Flexible")
FLEXIBLE_NOT_EMULATED = ("azlab: orchestrationMode Flexible is not emulated (its instances are standalone VMs); "
                         "the lab runs Uniform scale sets: set orchestrationMode: Uniform.")
IP_CONFIG_REFERENCES = ("loadBalancerBackendAddressPools", "loadBalancerInboundNatPools",
                        "applicationGatewayBackendAddressPools", "applicationSecurityGroups")


def _without_extensions(profile: dict | None) -> str:
    return json.dumps({k: v for k, v in (profile or {}).items() if k != "extensionProfile"}, sort_keys=True)


def _refs(ctx: Context, value, owner: str, target: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_parameter(target, f"Parameter '{target}' must be a list of references.")
    out = []
    for index, ref in enumerate(value):
        ref_id = ref.get("id") if isinstance(ref, dict) else None
        ctx.require_reference(ref_id, owner, f"{target}[{index}].id")
        out.append({"id": ref_id})
    return out


class ScaleSetType(ResourceType):
    full_type = VMSS_TYPE
    min_api_version = "2015-06-15"
    name_rule = NameRule(1, 64)
    actions = {"manualupgrade": "action_manual_upgrade", "start": "action_start", "powerOff": "action_power_off",
               "restart": "action_restart", "deallocate": "action_deallocate", "delete": "action_delete_instances",
               "osRollingUpgrade": "action_os_rolling_upgrade", "reimage": "action_reimage",
               "extensionRollingUpgrade": "action_extension_rolling_upgrade",
               "setOrchestrationServiceState": "action_set_orchestration_service_state"}
    views = {"instanceView": "view_instance_view", "skus": "view_skus"}

    # -- create and update ---------------------------------------------------------------------

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type)
        old = (existing or {}).get("properties", {})
        mode = choice(props.get("orchestrationMode"), ORCHESTRATION_MODES, "orchestrationMode",
                          old.get("orchestrationMode", "Uniform"))
        if mode == "Flexible":
            raise ArmError(400, "BadRequest", FLEXIBLE_NOT_EMULATED, target="orchestrationMode")
        if existing is not None:
            rules.check_unchanged(old, {**props, "orchestrationMode": mode})
        sku = self._sku(body.get("sku"), existing)
        single = rules.flag(props.get("singlePlacementGroup"), "singlePlacementGroup",
                            old.get("singlePlacementGroup", True))
        sku["capacity"] = rules.capacity(body.get("sku") or {}, (existing or {}).get("sku"), single)
        fault_domains = props.get("platformFaultDomainCount", old.get("platformFaultDomainCount", 5))
        if isinstance(fault_domains, bool) or not isinstance(fault_domains, int) or not 1 <= fault_domains <= 5:
            raise invalid_parameter("platformFaultDomainCount", f"The value {fault_domains} of parameter "
                                    "'platformFaultDomainCount' is out of range. The value must be between 1 and 5.")
        upgrade = rules.upgrade_policy(props.get("upgradePolicy"), old.get("upgradePolicy"))
        repairs = rules.repairs_policy(props.get("automaticRepairsPolicy"), old.get("automaticRepairsPolicy"))
        scale_in = rules.scale_in_policy(props.get("scaleInPolicy"), old.get("scaleInPolicy"))
        profile, guest, image, protected = self._profile(ctx, rid, out["location"], props.get("virtualMachineProfile"),
                                                         existing)
        rules.check_health_source(upgrade, repairs, profile)
        for pool in self._nat_pools(ctx, profile):
            rules.nat_pool_fits(pool, sku["capacity"])
        out["sku"] = sku
        out["properties"] = {
            "singlePlacementGroup": single, "orchestrationMode": mode, "upgradePolicy": upgrade,
            **({"automaticRepairsPolicy": repairs} if repairs else {}),
            **({"scaleInPolicy": scale_in} if scale_in else {}),
            "virtualMachineProfile": profile, "provisioningState": "Succeeded",
            "overprovision": rules.flag(props.get("overprovision"), "overprovision", old.get("overprovision", True)),
            "doNotRunExtensionsOnOverprovisionedVMs": rules.flag(
                props.get("doNotRunExtensionsOnOverprovisionedVMs"), "doNotRunExtensionsOnOverprovisionedVMs",
                old.get("doNotRunExtensionsOnOverprovisionedVMs", False)),
            "uniqueId": old.get("uniqueId") or str(uuid.uuid4()), "platformFaultDomainCount": fault_domains,
            "timeCreated": old.get("timeCreated") or iso_time(ctx)}
        # a new model; a new guest (image, osProfile, network...) unless only the extensions changed
        changed_guest = existing is None or _without_extensions(profile) != _without_extensions(
            old.get("virtualMachineProfile")) or guest != existing.get("_guest")
        changed_model = changed_guest or profile.get("extensionProfile") != old["virtualMachineProfile"].get(
            "extensionProfile") or protected != existing.get(extensions.PROTECTED)
        out["_model"] = (existing or {}).get("_model", 0) + (1 if changed_model else 0)
        out["_guest_model"] = (existing or {}).get("_guest_model", (existing or {}).get("_model", 0)) + (
            1 if changed_guest else 0)
        out[extensions.PROTECTED] = protected
        out["_next_instance"] = (existing or {}).get("_next_instance", 0)
        out["_guest"], out["_image"] = guest, image
        out["_image_version"] = image["version"]
        out["_rolling"] = (existing or {}).get("_rolling")
        for progress in (overprovision.RECORD, auto_repairs.SUSPENDED_FLAG):  # what the data plane did, not the request
            if progress in (existing or {}):
                out[progress] = existing[progress]
        self._reconcile_instances(ctx, out, existing is not None)
        if existing is not None and changed_model and upgrade["mode"] == "Rolling":
            out["_rolling"] = rolling_upgrades.start(ctx, out, rolling_upgrades.MODEL)
        return out

    @staticmethod
    def _sku(sku, existing: dict | None) -> dict:
        sku = sku if isinstance(sku, dict) else {}
        name = sku.get("name") or ((existing or {}).get("sku") or {}).get("name")
        if not name:
            raise required_parameter("sku.name")
        size = find_size(name)
        if size is None:
            raise invalid_parameter("sku.name", f"The requested VM size {name} is not available in the current "
                                    f"region. The sizes available in the current region are: "
                                    f"{', '.join(s.name for s in VM_SIZES.values())}.")
        return {"name": size.name, "tier": sku.get("tier") or ((existing or {}).get("sku") or {}).get("tier")
                or "Standard"}

    def _profile(self, ctx: Context, rid: ResourceId, location: str, requested, existing: dict | None):
        """(virtualMachineProfile as Azure returns it, the guest identity, the image, the
        extensions' protectedSettings by name)."""
        old = (existing or {}).get("properties", {}).get("virtualMachineProfile")
        old_protected = (existing or {}).get(extensions.PROTECTED) or {}
        if requested is None and old is not None:
            return copy.deepcopy(old), existing["_guest"], existing["_image"], old_protected
        if not isinstance(requested, dict):
            raise required_parameter("virtualMachineProfile")
        storage, image = self._storage_profile(requested.get("storageProfile"))
        os_profile, guest = self._os_profile(requested.get("osProfile"), image["os_type"], old, existing)
        profile = {"osProfile": os_profile, "storageProfile": storage,
                   "networkProfile": self._network_profile(ctx, rid, requested.get("networkProfile"))}
        extension_profile, protected = extensions.parse_profile(
            requested.get("extensionProfile"), image["os_type"], location, old_protected,
            (old or {}).get("extensionProfile"))
        if extension_profile is not None:
            profile["extensionProfile"] = extension_profile
        for key in ("diagnosticsProfile", "priority", "evictionPolicy", "billingProfile", "securityProfile",
                    "licenseType"):
            if requested.get(key) is not None:
                profile[key] = requested[key]
        scheduled = scheduled_events.parse_profile(requested.get("scheduledEventsProfile"))
        if scheduled is not None:
            profile["scheduledEventsProfile"] = scheduled
        return profile, guest, image, protected

    @staticmethod
    def _storage_profile(requested) -> tuple[dict, dict]:
        if not isinstance(requested, dict):
            raise required_parameter("virtualMachineProfile.storageProfile")
        ref = requested.get("imageReference") or {}
        image = find_image(ref.get("publisher"), ref.get("offer"), ref.get("sku"))
        version = image.resolve(ref.get("version")) if image else None
        if version is None:
            raise ArmError(404, "PlatformImageNotFound", f"The platform image '{ref.get('publisher')}:"
                           f"{ref.get('offer')}:{ref.get('sku')}:{ref.get('version')}' is not available. Verify that "
                           "all fields in the storage profile are correct.", target="imageReference")
        os_disk = dict(requested.get("osDisk") or {})
        option = choice(os_disk.get("createOption"), ("FromImage",), "osDisk.createOption", None)
        if option is None:
            raise required_parameter("virtualMachineProfile.storageProfile.osDisk.createOption")
        os_disk.update(createOption=option, osType=image.os_type, caching=os_disk.get("caching") or "ReadWrite",
                       managedDisk=os_disk.get("managedDisk") or {"storageAccountType": "Premium_LRS"},
                       diskSizeGB=os_disk.get("diskSizeGB") or image.disk_gb)
        # echoed as sent: the set's model says "latest", each instance says which it runs
        storage = {"imageReference": {k: ref[k] for k in ("publisher", "offer", "sku", "version") if k in ref},
                   "osDisk": os_disk, "dataDisks": requested.get("dataDisks") or []}
        return storage, {"publisher": image.publisher, "offer": image.offer, "sku": image.sku, "version": version,
                         "os_type": image.os_type}

    @staticmethod
    def _os_profile(requested, os_type: str, old: dict | None, existing: dict | None) -> tuple[dict, dict]:
        if existing is not None:
            current = old["osProfile"]
            if isinstance(requested, dict):
                for name in ("computerNamePrefix", "adminUsername"):
                    if requested.get(name) is not None and requested[name] != current.get(name):
                        raise property_change_not_allowed(f"osProfile.{name}")
            guest = dict(existing["_guest"])
            if isinstance(requested, dict) and requested.get("customData") is not None:
                guest["customData"] = requested["customData"]
            return copy.deepcopy(current), guest
        if not isinstance(requested, dict):
            raise required_parameter("virtualMachineProfile.osProfile")
        prefix = requested.get("computerNamePrefix")
        if not isinstance(prefix, str) or not 1 <= len(prefix) <= 15:
            raise invalid_parameter("osProfile.computerNamePrefix", "The value of parameter "
                                    "'osProfile.computerNamePrefix' must be 1 to 15 characters long.")
        public, guest = build_os_profile(prefix, {**requested, "computerName": prefix}, os_type)
        public.pop("computerName")
        return {"computerNamePrefix": prefix, **public}, guest

    @staticmethod
    def _network_profile(ctx: Context, rid: ResourceId, requested) -> dict:
        configs = (requested or {}).get("networkInterfaceConfigurations") if isinstance(requested, dict) else None
        if not configs:
            raise required_parameter("virtualMachineProfile.networkProfile.networkInterfaceConfigurations")
        owner, out = str(rid), []
        for n, config in enumerate(configs):
            target = f"networkProfile.networkInterfaceConfigurations[{n}]"
            props = dict(config.get("properties") or {})
            if not config.get("name") or not props.get("ipConfigurations"):
                raise required_parameter(f"{target}.name" if not config.get("name") else f"{target}.ipConfigurations")
            ip_configs = []
            for m, item in enumerate(props["ipConfigurations"]):
                p = dict(item.get("properties") or {})
                where = f"{target}.ipConfigurations[{m}]"
                ctx.require_reference((p.get("subnet") or {}).get("id"), owner, f"{where}.subnet.id")
                for key in IP_CONFIG_REFERENCES:
                    if key in p:
                        p[key] = _refs(ctx, p[key], owner, f"{where}.{key}")
                p["privateIPAddressVersion"] = p.get("privateIPAddressVersion") or "IPv4"
                ip_configs.append({"name": item.get("name"), "properties": p})
            if props.get("networkSecurityGroup"):
                ctx.require_reference(props["networkSecurityGroup"].get("id"), owner, f"{target}.networkSecurityGroup.id")
            props.update(ipConfigurations=ip_configs, dnsSettings=props.get("dnsSettings") or {"dnsServers": []},
                         enableAcceleratedNetworking=bool(props.get("enableAcceleratedNetworking", False)))
            out.append({"name": config["name"], "properties": props})
        profile = {"networkInterfaceConfigurations": out}
        probe = (requested.get("healthProbe") or {}).get("id")
        if probe:
            ctx.require_reference(probe, owner, "networkProfile.healthProbe.id")
            profile["healthProbe"] = {"id": probe}
        return profile

    @staticmethod
    def _nat_pools(ctx: Context, profile: dict) -> list[dict]:
        ids = {ref["id"].lower(): ref["id"] for config in profile["networkProfile"]["networkInterfaceConfigurations"]
               for ip in config["properties"]["ipConfigurations"]
               for ref in ip["properties"].get("loadBalancerInboundNatPools") or []}
        return [ctx.lookup(pool_id) for pool_id in ids.values()]

    # -- instances ------------------------------------------------------------------------------

    def _reconcile_instances(self, ctx: Context, vmss: dict, updating: bool) -> list[dict]:
        """Bring the instances to the capacity; return those made (with the extras of an overprovisioning)."""
        members = instances(ctx, vmss["id"]) if updating else []
        want = vmss["sku"]["capacity"]
        settled, candidates = overprovision.split(vmss, members)
        if len(settled) > want:
            for gone in candidates:  # never kept: a scale-in ends the overprovisioning
                self._remove_instance(ctx, gone)
            candidates = []
            rule = (vmss["properties"].get("scaleInPolicy") or {}).get("rules", ["Default"])[0]
            for gone in choose_scale_in(settled, len(settled) - want, rule):
                self._retire(ctx, vmss, gone)
                settled.remove(gone)
        members, added = settled + candidates, []
        new = want - len(members)
        if new > 0:
            added = [self._add_instance(ctx, vmss, members) for number in range(new)]
        if new > 0 and vmss["properties"]["overprovision"] and not ctx.no_guest_reason:  # extras need a data plane
            room = overprovision.room(ctx, vmss["properties"]["virtualMachineProfile"])
            added += [self._add_instance(ctx, vmss, members) for number in range(overprovision.extras(new, room))]
        overprovision.record(vmss, settled, candidates + added)
        if vmss["properties"]["upgradePolicy"]["mode"] == "Automatic":
            for member in members:
                if member["_model"] != vmss["_model"]:
                    apply_model(member, vmss)
                    ctx.store.put(member["id"], INSTANCE_TYPE, member)
        return added

    @staticmethod
    def _add_instance(ctx: Context, vmss: dict, members: list[dict]) -> dict:
        instance_id = vmss["_next_instance"]
        vmss["_next_instance"] += 1
        instance_rid = f"{vmss['id']}/virtualMachines/{instance_id}"
        nic_type = ctx.registry.find(NIC_TYPE)
        nic_ids = []
        for config in vmss["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"]:
            nic_rid = ResourceId.parse(f"{instance_rid}/networkInterfaces/{config['name']}")
            props = config["properties"]
            nic = nic_type.build(ctx, nic_rid, {"location": vmss["location"], "properties": {
                "ipConfigurations": [instance_ip_configuration(ctx, str(nic_rid), ip, instance_id)
                                     for ip in props["ipConfigurations"]],
                **({"networkSecurityGroup": props["networkSecurityGroup"]} if props.get("networkSecurityGroup") else {}),
                "enableAcceleratedNetworking": props.get("enableAcceleratedNetworking", False)}}, None)
            nic["_unlisted"] = True
            ctx.store.put(nic["id"], NIC_TYPE, nic)
            nic_ids.append(nic["id"])
        body = instance_body(ctx, vmss, instance_id, nic_ids,
                             place(members, vmss["properties"]["platformFaultDomainCount"]))
        ctx.store.put(body["id"], INSTANCE_TYPE, body)
        members.append(body)
        return body

    def _retire(self, ctx: Context, vmss: dict, instance: dict) -> None:
        """Scale-in and deleteInstances: with a terminate notification the instance waits for
        its Terminate event to be approved or due (``finish_terminations``), else it goes now.
        A lab without a data plane has no guest to notify, nor a clock to end the wait."""
        minutes = scheduled_events.timeout_minutes(vmss["properties"]["virtualMachineProfile"])
        if minutes is None or ctx.no_guest_reason:
            self._remove_instance(ctx, instance)
            return
        scheduled_events.schedule(instance, minutes, ctx.now())
        scheduled_events.bump(vmss)
        ctx.store.put(instance["id"], INSTANCE_TYPE, instance)

    def finish_terminations(self, ctx: Context, vmss: dict, now: float, seconds_per_minute: float) -> list[str]:
        """Delete the instances whose Terminate event was approved or is due; their IDs."""
        gone = [m for m in instances(ctx, vmss["id"], terminating=True)
                if scheduled_events.due(m, now, seconds_per_minute)]
        for member in gone:
            self._remove_instance(ctx, member)
        if gone:
            scheduled_events.bump(vmss)
            ctx.store.put(vmss["id"], VMSS_TYPE, vmss)
        return [member["instanceId"] for member in gone]

    def approve_events(self, ctx: Context, vmss: dict, event_ids: set[str]) -> bool:
        """StartRequests from an instance's Scheduled Events: whether any event of the set was approved."""
        approved = False
        for member in instances(ctx, vmss["id"], terminating=True):
            if scheduled_events.approve(member, event_ids):
                ctx.store.put(member["id"], INSTANCE_TYPE, member)
                approved = True
        if approved:
            scheduled_events.bump(vmss)
            ctx.store.put(vmss["id"], VMSS_TYPE, vmss)
        return approved

    @staticmethod
    def _remove_instance(ctx: Context, instance: dict) -> None:
        for child_id, _ in reversed(ctx.store.list(prefix=instance["id"])):
            ctx.store.delete(child_id)
        ctx.store.delete(instance["id"])
        release(ctx, instance["id"])

    # -- what the data plane decides (it sees which instances run and which are healthy) --------

    def drop_extras(self, ctx: Context, vmss: dict, ran: dict[str, float], failed: set[str]) -> list[str]:
        """Delete the extras of the set's overprovisioning once the instances it keeps run
        (``scale_set_overprovision.extras_to_delete``); the IDs of those deleted."""
        members = instances(ctx, vmss["id"])
        extras = overprovision.extras_to_delete(vmss, members, ran, failed)
        if extras is None:
            return []
        for extra in extras:
            self._remove_instance(ctx, extra)
        overprovision.record(vmss, *overprovision.split(vmss, [m for m in members if m not in extras]))
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)
        return [extra["instanceId"] for extra in extras]

    def repair_instances(self, ctx: Context, vmss: dict, instance_ids: tuple[str, ...]) -> None:
        """Automatic repairs' ``repairAction`` on unhealthy instances (``scale_set_repairs.plan``
        chose them): Replace makes the new instance as a scale-out does (overprovisioning too)."""
        action = vmss["properties"]["automaticRepairsPolicy"]["repairAction"]
        by_id = {m["instanceId"]: m for m in instances(ctx, vmss["id"])}
        for member in (by_id[i] for i in instance_ids if i in by_id):
            repeats = member.get(auto_repairs.REPEATS, 0) + 1
            if action == "Replace":
                self._remove_instance(ctx, member)
                for replacement in self._reconcile_instances(ctx, vmss, True):
                    replacement[auto_repairs.REPEATS] = repeats
                    ctx.store.put(replacement["id"], INSTANCE_TYPE, replacement)
                continue
            member[auto_repairs.REPEATS] = repeats
            if action == "Reimage":
                reimage(member)
                ctx.store.put(member["id"], INSTANCE_TYPE, member)
            else:
                request_power(ctx.store, member, "running", restart=True)
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)

    def on_deleted(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """The instances went with the set: their NAT pool ports are free again."""
        release(ctx, str(rid))

    # -- views ------------------------------------------------------------------------------------

    def view_instance_view(self, ctx: Context, rid: ResourceId) -> dict:
        vmss = self.get_item(ctx, rid)
        members = instances(ctx, vmss["id"])
        counts: dict[str, int] = {}
        by_extension: dict[str, dict[str, int]] = {}
        for member in members:
            for code in (f"ProvisioningState/{instance_provisioning_state(member, ctx.no_guest_reason).lower()}",
                         f"PowerState/{member.get('_power', 'running')}"):
                counts[code] = counts.get(code, 0) + 1
            for ext, state, _ in extensions.run_states(member, ctx.no_guest_reason):
                codes = by_extension.setdefault(ext["name"], {})
                codes[f"ProvisioningState/{state}"] = codes.get(f"ProvisioningState/{state}", 0) + 1
        view = {"virtualMachine": {"statusesSummary": [{"code": c, "count": n} for c, n in counts.items()]},
                "statuses": [status("ProvisioningState/succeeded", "Provisioning succeeded",
                                    time=vmss["properties"]["timeCreated"])]}
        if by_extension:
            view["extensions"] = [{"name": name, "statusesSummary": [{"code": c, "count": n} for c, n in codes.items()]}
                                  for name, codes in by_extension.items()]
        services = auto_repairs.orchestration_services(vmss, ctx.no_guest_reason)
        return {**view, "orchestrationServices": services} if services else view

    def view_skus(self, ctx: Context, rid: ResourceId) -> dict:
        self.get_item(ctx, rid)
        return {"value": [{"resourceType": VMSS_TYPE, "sku": {"name": size.name, "tier": "Standard"},
                           "capacity": {"minimum": 0, "maximum": rules.MAX_CAPACITY, "defaultCapacity": 1,
                                        "scaleType": "Automatic"}} for size in VM_SIZES.values()]}

    # -- actions (POST, long-running) ----------------------------------------------------------------

    def action_manual_upgrade(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vmss = self.get_item(ctx, rid)
        for member in check_instance_ids(ctx, vmss["id"], body, required=True):
            apply_model(member, vmss)
            ctx.store.put(member["id"], INSTANCE_TYPE, member)

    def action_reimage(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """The named instances (all when none is named) start afresh from their image, on the
        model they run (a reimage does not upgrade them)."""
        vmss = self.get_item(ctx, rid)
        for member in check_instance_ids(ctx, vmss["id"], body, required=False):
            reimage(member)
            ctx.store.put(member["id"], INSTANCE_TYPE, member)

    def _power(self, ctx: Context, rid: ResourceId, body: dict, state: str, restart: bool = False) -> None:
        vmss = self.get_item(ctx, rid)
        for member in check_instance_ids(ctx, vmss["id"], body, required=False):
            request_power(ctx.store, member, state, restart)

    def action_start(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        self._power(ctx, rid, body, "running")

    def action_power_off(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        self._power(ctx, rid, body, "stopped")

    def action_restart(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        self._power(ctx, rid, body, "running", restart=True)

    def action_deallocate(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        self._power(ctx, rid, body, "deallocated")

    def action_delete_instances(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vmss = self.get_item(ctx, rid)
        deleted = [m for m in check_instance_ids(ctx, vmss["id"], body, required=True)
                   if not scheduled_events.terminating(m)]  # already on their way out
        for member in deleted:
            self._retire(ctx, vmss, member)
        overprovision.after_delete(vmss, instances(ctx, vmss["id"]), deleted)
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)

    def action_set_orchestration_service_state(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Suspend or resume the set's automatic repairs."""
        vmss = self.get_item(ctx, rid)
        auto_repairs.set_service_state(vmss, body)
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)

    def action_os_rolling_upgrade(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Instances of a "latest" image move to its newest version, batch by batch, under the
        set's rollingUpgradePolicy (whatever the upgrade mode, as on Azure)."""
        self._start_rolling_upgrade(ctx, rid, rolling_upgrades.OS_IMAGE, "OS Rolling Upgrade")

    def action_extension_rolling_upgrade(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """Instances whose extensions are not the model's take them (and only them: no reimage),
        batch by batch under the set's rollingUpgradePolicy."""
        self._start_rolling_upgrade(ctx, rid, rolling_upgrades.EXTENSIONS, "Extension Rolling Upgrade")

    def _start_rolling_upgrade(self, ctx: Context, rid: ResourceId, kind: str, what: str) -> None:
        vmss = self.get_item(ctx, rid)
        if not rules.health_sources(vmss["properties"]["virtualMachineProfile"]):
            raise ArmError(400, "BadRequest", rules.NO_HEALTH.format(what=what))
        if (vmss.get("_rolling") or {}).get("code") == rolling_upgrades.ROLLING_FORWARD:
            raise ArmError(409, "OperationNotAllowed", f"A rolling upgrade of the virtual machine scale set "
                           f"{vmss['name']} is in progress; cancel it (rollingUpgrades/cancel) or wait for it to end.")
        vmss["_rolling"] = rolling_upgrades.start(ctx, vmss, kind)
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)

    def operation_gate(self, ctx: Context, resource_id: str, kind: str, action: str | None = None):
        """osRollingUpgrade and extensionRollingUpgrade end with their rolling upgrade (the other
        operations wait for the data plane)."""
        if action not in rolling_upgrades.ACTIONS:
            return None
        store = ctx.store
        return lambda: rolling_upgrades.outcome((store.get(resource_id) or {}).get("_rolling"))

    def describe(self, ctx: Context, body: dict) -> str:
        return f"{body['sku']['name']} x {body['sku']['capacity']}, upgrade {body['properties']['upgradePolicy']['mode']}"

