"""The lab's data plane: makes what the store says exist real on this machine.

VNets become network namespaces and NICs namespaces wired to them (``dataplane/vnet``),
Linux VMs podman containers in their NIC's namespace, load balancers HAProxys
(``dataplane/lb``) that reach their backends through their VNet's uplink only.
The controller subscribes to the store, but its callback only marks
the state dirty: a background worker reconciles LEVEL-TRIGGERED — it compares the whole
store with what runs and closes the gap — so a missed or coalesced change event, a
container that died, or a lab restarted after ``azlab down`` are all handled by the same
code path. The ARM request thread never waits for podman or HAProxy.

The models never import this module; it reads them (``vm_spec``, the LB helpers) and
reports back through ``set_power_state`` and ``Store.record_health``.
See docs/lab-dataplane.md.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azlab.dataplane import (
    gates, host_network, image, imds, os_disks, overprovision, podman, repairs, resolve, rolling, vm_container, vnet,
)
from azlab.dataplane.agent import GuestAgent
from azlab.dataplane.app_health import ApplicationHealthProbes
from azlab.dataplane.allocation import capacity_refusal
from azlab.dataplane.autoscale import Autoscaler
from azlab.dataplane.networks import Networks
from azlab.dataplane.objects import (
    LAB_INSTANCE_LABEL, MODEL_LABEL, ROLE_LABEL, VM_ID_LABEL, VM_LABEL, container_name, instance_id, instance_label,
    purge,
)
from azlab.dataplane.lb import HAProxyError, LoadBalancerManager
from azlab.dataplane.lb.view import RenderOptions
from azlab.models.compute.common import DISK_TYPE, INSTANCE_TYPE, VM_TYPE, VMSS_TYPE
from azlab.models.compute.rolling_upgrades import ACTIONS as ROLLING_ACTIONS
from azlab.models.compute.scale_set_extensions import CHILD_TYPE as EXTENSIONS_TYPE
from azlab.models.compute.state import (
    machine_spec, machines, provisioning_failure, record_provisioning_failure, set_power_state,
)
from azlab.models.network.common import LB_TYPE
from azlab.models.network.lb_health import set_unserved
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)

#: How often the worker looks at the containers even when the store did not change:
#: in-guest reboots, killed containers and boot faults are seen within this period.
POLL_SECONDS = 1.0
CREATE_WORKERS = 3
STOP_SECONDS = 10
FAULT_KINDS = ("probe", "boot", "kill")
WINDOWS_NOTE = "control plane only (no guest)"


def unavailable_reason() -> str | None:
    """Why the data plane cannot run here (root, podman, haproxy), or None."""
    reason = podman.unavailable_reason()
    if reason is None and shutil.which("haproxy") is None:
        reason = "haproxy is not installed"
    return reason


class DataPlane:
    """Reconciles the store with podman and HAProxy in one background worker thread."""

    def __init__(self, lab, state_dir: Path, *, lb_options: RenderOptions = RenderOptions(),
                 create_workers: int = CREATE_WORKERS):
        self.lab = lab
        self.store = lab.store
        self.state_dir = Path(state_dir)
        self.seeds_dir = self.state_dir / "seeds"
        self.lbs = LoadBalancerManager(self.state_dir, on_health=self._record_health, options=lb_options)
        self._pool = ThreadPoolExecutor(create_workers, thread_name_prefix="azlab-vm")
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._passes = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._image_lock = threading.Lock()
        self._image: str | None = None
        # what this controller knows that the store does not
        self._creating: set[str] = set()
        self._reported: dict[str, str] = {}      # VM key -> power state we last wrote
        self._restarts: dict[str, int] = {}      # VM key -> restart requests handled
        self._started_at: dict[str, str] = {}    # VM key -> container start seen when a boot fault was set
        self._applied: dict[str, tuple[str, str]] = {}  # LB key -> (ID, fingerprint of the last applied input)
        self._faults: dict[str, set[str]] = {kind: set() for kind in FAULT_KINDS}
        self._errors: dict[str, str] = {}
        self._notes: dict[str, str] = {}
        self._made: dict[str, str] = {}          # VM key -> vmId of the VM whose container was made (or found)
        self._disks = os_disks.DiskImages(instance_label(self.state_dir))
        self._networks = Networks(self.store, instance_id(self.state_dir), self._error)
        self._agent = GuestAgent(self.store, on_done=self._wake.set)
        self._app_health = ApplicationHealthProbes(self.store, on_change=self._wake.set)
        self.rolling = rolling.RollingUpgrades(lab, self._made)
        self._metadata = imds.MetadataService(lab, instance_id(self.state_dir), wake=self._wake.set)
        self.scale_set_steps = (self.rolling, overprovision.Overprovisioning(lab, self._made),
                                repairs.AutomaticRepairs(lab, self._made, self._restarts), self._metadata)
        self._autoscale = Autoscaler(lab)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start reconciling; the first pass brings back what the state says runs."""
        podman.install_bootid_hook()
        host_network.ensure_host_rules()
        self.store.subscribe(self._on_change)
        self._thread = threading.Thread(target=self._loop, name="azlab-dataplane", daemon=True)
        self._thread.start()
        self._wake.set()
        self._autoscale.start()

    def stop(self) -> None:
        """``azlab down``: stop containers and HAProxys, keep the state for ``azlab up``."""
        self._autoscale.stop()
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._pool.shutdown(wait=True)
        self._agent.stop()
        self._app_health.stop()
        self._metadata.stop()
        names = [c["name"] for c in self._containers().values() if c["state"] == "running"]
        if names:
            podman.run(["stop", "--time", str(STOP_SECONDS), *names], check=False)
        self.lbs.stop_all()

    def reset(self) -> None:
        """After the store was cleared: remove everything the lab ever created here."""
        self.wait_idle(timeout=120)
        with self._idle:
            purge(self.state_dir)
            self._disks.forget()
            for table in (self._reported, self._restarts, self._started_at, self._applied, self._errors, self._notes):
                table.clear()
            self._networks.forget()
            self.clear_faults()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until a full pass started after this call has finished (tests, reset)."""
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._idle:
            target = self._passes + 2  # the pass under way may predate the call
            while self._passes < target or self._creating or self._agent.busy():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    # -- what ARM waits for ------------------------------------------------------------------

    def gate_for(self, kind: str, full_type: str, resource_id: str, action: str | None = None):
        """For ARM's operation on a resource: a callable that says when the data plane is done
        with it (None: pending, {}: done, an ARM error: failed), or None if ARM need not wait
        (``gates``: a VM's create or update, a scale set's PUT (or its extension's) and actions
        other than a rolling upgrade, which ends with the upgrade: the model's gate)."""
        if (full_type.lower() == VMSS_TYPE.lower() and kind in ("put", "action") and action not in ROLLING_ACTIONS) \
                or (full_type.lower() == INSTANCE_TYPE.lower() and action == "reimage") \
                or (full_type.lower() == EXTENSIONS_TYPE.lower() and kind == "put"):
            # a manualupgrade or reimage ends when the instances' new containers run
            return gates.scale_set_gate(self.store, self._made, resource_id)
        if kind != "put":
            return None
        if full_type.lower() == VM_TYPE.lower():
            return gates.vm_gate(self.store, self._made, resource_id)
        return None

    # -- faults ---------------------------------------------------------------------------

    def set_fault(self, kind: str, vm_id: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        vm = self.store.get(vm_id)
        if vm is None or vm.get("type", "").lower() not in (VM_TYPE.lower(), INSTANCE_TYPE.lower()):
            raise ValueError(f"no virtual machine or scale set instance {vm_id}")
        key = key_of(vm["id"])
        self._faults[kind].add(key)
        if kind == "boot":
            self._started_at[key] = self._containers().get(key, {}).get("started", "")
        if kind == "kill":
            podman.run(["kill", container_name(vm["id"])], check=False)
        self._wake.set()

    def clear_faults(self) -> None:
        for vms in self._faults.values():
            vms.clear()
        self._wake.set()

    def faults(self) -> dict[str, list[str]]:
        return {kind: sorted(vms) for kind, vms in self._faults.items()}

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict:
        containers = self._containers()
        vms = {}
        for vm_id, _ in machines(self.store):
            key = key_of(vm_id)
            container = containers.get(key)
            vms[vm_id] = self._notes.get(key) or (
                f"container {container['name']} {container['state']}" if container else "no container")
        lbs = {}
        for lb_id, _ in self.store.list(LB_TYPE):
            running = self._lb_running(lb_id)
            health = self.lbs.live_health(lb_id) if running else {}
            lbs[lb_id] = {"haproxy": "running" if running else "stopped", "warnings": list(self.lbs.warnings(lb_id)),
                          "health": {f"{rule} {backend}": state for (rule, backend), state in health.items()}}
        return {"enabled": True, "vms": vms, "load_balancers": lbs, "faults": self.faults(),
                "errors": {**self._errors, **self._metadata.errors}, "autoscale": self._autoscale.status()}

    # -- the worker -----------------------------------------------------------------------

    def _on_change(self, changes) -> None:
        """Runs in the writer's thread (often an ARM request): only mark the state dirty."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stopping:
                break
            try:
                self._reconcile()
                self._error("pass", None)
            except Exception as exc:  # one bad pass must not end the data plane; the next retries
                LOG.exception("data plane pass failed")
                self._error("pass", f"data plane pass failed: {exc}")
            with self._idle:
                self._passes += 1
                self._idle.notify_all()

    def _reconcile(self) -> None:
        containers = self._containers()
        vnets = self._networks.reconcile()
        self._metadata.reconcile_listeners(vnets)
        nics_in_use = self._reconcile_vms(containers, vnets)
        self._networks.reconcile_routes()
        guests = {key: c["name"] for key, c in containers.items()
                  if key in self._made and self._reported.get(key) == "running"}
        self._agent.reconcile(guests)
        self._app_health.reconcile(guests)
        self._networks.remove_stale_namespaces(nics_in_use)
        # rolling upgrades, overprovisioning, automatic repairs, the end of Terminate events
        for step in self.scale_set_steps:
            step.reconcile()
        self._reconcile_lbs()
        self._disks.forget_deleted({(body["properties"].get("uniqueId") or "").lower()
                                    for _, body in self.store.list(DISK_TYPE)})
        self._forget_deleted()

    def _containers(self) -> dict[str, dict]:
        """The lab's VM containers by VM key: name, podman state, start time."""
        out = podman.run(["ps", "-a", "--filter", f"label={ROLE_LABEL}=vm", "--filter",
                          f"label={instance_label(self.state_dir)}", "--format", "json"]).stdout
        containers = {}
        for entry in json.loads(out or "[]"):
            labels = entry.get("Labels") or {}
            containers[labels.get(VM_LABEL, "")] = {
                "name": entry["Names"][0], "state": entry["State"], "started": str(entry.get("StartedAt")),
                "vm_id": labels.get(VM_ID_LABEL), "os_disk": labels.get(os_disks.DISK_LABEL),
                "model": labels.get(MODEL_LABEL)}
        return containers

    def _labels(self, role: str) -> dict[str, str]:
        return {ROLE_LABEL: role, LAB_INSTANCE_LABEL: instance_id(self.state_dir)}

    def _error(self, key: str, message: str | None) -> None:
        """Remember (and log once) why an object is not served; None clears it."""
        if message is None:
            self._errors.pop(key, None)
        elif self._errors.get(key) != message:
            self._errors[key] = message
            LOG.error("%s", message)

    @property
    def _lab(self) -> str:
        return instance_id(self.state_dir)

    def _forget_deleted(self) -> None:
        """Errors and notes of resources that no longer exist go with them (a key may name an
        aspect of its resource after a ``#``: a VNet's ``#routes``)."""
        for table in (self._errors, self._notes):
            for key in [k for k in table if k.startswith("/") and not self.store.exists(k.partition("#")[0])]:
                del table[key]

    # -- VMs -> containers ----------------------------------------------------------------------

    def _reconcile_vms(self, containers: dict[str, dict], vnets: set[str]) -> set[str]:
        """Containers for the VMs; return the IDs of the NICs whose namespace a VM uses."""
        wanted, nics_in_use = set(), set()
        for vm_id, _ in machines(self.store):
            key = key_of(vm_id)
            wanted.add(key)
            spec = machine_spec(self.store, vm_id)
            if spec["os_type"] != "Linux" or not spec["guest"]:
                self._notes[key] = WINDOWS_NOTE if spec["os_type"] == "Windows" else "no guest (not created from an image)"
                continue
            if spec["network_interfaces"]:
                nics_in_use.add(key_of(spec["network_interfaces"][0]))
            container = containers.get(key)
            try:
                if container is not None and key not in self._creating and (
                        container["vm_id"] not in (None, spec["vm_id"]) or gates.stale_model(spec, container)):
                    # the VM was deleted and created again under its name before this pass, or
                    # a scale set instance takes a new model: a reimage
                    self._remove_vm_container(key, container)
                    container = None
                self._reconcile_vm(spec, container, vnets)
            except (podman.PodmanError, vnet.NetworkError) as exc:
                self._error(key, f"VM {vm_id}: {exc}")
        for key, container in containers.items():
            if key not in wanted and key not in self._creating:
                try:
                    self._remove_vm_container(key, container)
                except podman.PodmanError as exc:
                    self._error(key, f"VM container {container['name']}: {exc}")
        return nics_in_use

    def _remove_vm_container(self, key: str, container: dict) -> None:
        """The VM is gone: its container goes, its contents stay with its OS disk if that stays."""
        disk = container["os_disk"]
        if disk and any((body["properties"].get("uniqueId") or "").lower() == disk
                        for _, body in self.store.list(DISK_TYPE)):
            self._disks.keep(container["name"], disk)
        podman.remove_container(container["name"])
        shutil.rmtree(self.seeds_dir / container["name"], ignore_errors=True)
        for table in (self._reported, self._restarts, self._started_at, self._notes, self._errors, self._made):
            table.pop(key, None)

    def _reconcile_vm(self, spec: dict, container: dict | None, vnets: set[str]) -> None:
        key = key_of(spec["id"])
        if key in self._creating:
            return
        self._note_arm_requests(key, spec)
        goal = spec["power_goal"] or "running"
        held_down = key in self._faults["kill"] or key in self._faults["boot"]
        if provisioning_failure(self.store, key) is not None:
            return  # tried and failed; a new PUT of the VM clears the failure and tries again
        if container is not None:
            self._made[key] = gates.made_token(spec)
        if container is None:
            if goal == "running" and not held_down:
                self._create(spec, vnets)
            else:
                self._report(key, "stopped" if goal == "running" else goal)
            return
        running = container["state"] == "running"
        if goal != "running":
            if running:
                self._report(key, "stopping" if goal == "stopped" else "deallocating")
                podman.run(["stop", "--time", str(STOP_SECONDS), container["name"]])
            self._report(key, goal)
            return
        if key in self._faults["boot"] and running and container["started"] != self._started_at.get(key):
            # the guest (re)started while it must not boot: it never comes back
            podman.run(["stop", "--time", "0", container["name"]])
            running = False
        elif self._restarts.get(key, spec["restarts"]) < spec["restarts"] and running and not held_down:
            podman.run(["restart", "--time", str(STOP_SECONDS), container["name"]])
        elif not running and not held_down:
            self._report(key, "starting")
            port = resolve.nic_port(self.store, spec)
            if port is None:
                return
            vnet.ensure_nic(self._lab, port)  # gone if the host rebooted while the VM was stopped
            podman.run(["start", container["name"]])
            running = True
        self._restarts[key] = spec["restarts"]
        self._report(key, "running" if running else "stopped")

    def _note_arm_requests(self, key: str, spec: dict) -> None:
        """A power state we did not write is ARM's: a start clears a kill fault."""
        reported = self._reported.get(key)
        if reported is not None and spec["power"] != reported and spec["power"] == "running":
            self._faults["kill"].discard(key)
        self._restarts.setdefault(key, spec["restarts"])

    def _report(self, key: str, state: str) -> None:
        vm = self.store.get(key)
        if vm is not None and vm.get("_power") != state:
            set_power_state(self.store, vm["id"], state)
        self._reported[key] = state

    def _create(self, spec: dict, vnets: set[str]) -> None:
        """Queue one VM for the creation pool (VMs boot in parallel, as Azure creates them)."""
        key = key_of(spec["id"])
        self._made.pop(key, None)
        refusal = capacity_refusal(spec["vm_size"])
        if refusal:
            self._fail(spec, "AllocationFailed", refusal)
            return
        port = resolve.nic_port(self.store, spec)
        if port is None:
            self._fail(spec, "VMProvisioningFailed", "its NIC has no ip configuration in a subnet")
            return
        if key_of(port.vnet_id) not in vnets:
            self._fail(spec, "VMProvisioningFailed", f"the lab could not make its virtual network {port.vnet_id}: "
                                                     f"{self._errors.get(key_of(port.vnet_id), 'see azlab status')}")
            return
        self._error(key, None)
        self._creating.add(key)
        self._report(key, "starting")
        self._pool.submit(self._create_container, spec, port)

    def _create_container(self, spec: dict, port: vnet.NicPort) -> None:
        key = key_of(spec["id"])
        name = container_name(spec["id"])
        try:
            base = self._ensure_image()
            ref = self._disks.image_for(spec["os_disk_unique_id"]) or base
            seed = vm_container.write_seed_for(spec, self.seeds_dir / name)
            podman.remove_container(name)  # a half-created one from an interrupted run
            netns = vnet.ensure_nic(self._lab, port)
            labels = {**self._labels("vm"), VM_LABEL: key, VM_ID_LABEL: spec["vm_id"]}
            if spec.get("model") is not None:
                labels[MODEL_LABEL] = str(spec["model"])
            if spec["os_disk_unique_id"]:
                labels[os_disks.DISK_LABEL] = spec["os_disk_unique_id"].lower()
            podman.run(vm_container.vm_run_args(name, ref, hostname=spec["guest"].get("computerName") or spec["name"],
                                         seed_dir=seed, network=f"ns:{netns}", labels=labels))
            self._made[key] = gates.made_token(spec)
            LOG.info("VM %s: container %s started", spec["id"], name)
        except (podman.PodmanError, image.ImageBuildError, vnet.NetworkError) as exc:
            self._fail(spec, "VMProvisioningFailed", f"the lab could not start the VM's container: {exc}")
        finally:
            self._creating.discard(key)
            self._wake.set()

    def _fail(self, spec: dict, code: str, message: str) -> None:
        """The VM cannot be made: its provisioning fails with the reason (ARM's create fails)."""
        key = key_of(spec["id"])
        self._error(key, f"VM {spec['id']}: {message}")
        try:
            record_provisioning_failure(self.store, spec["id"], code, message)
        except KeyError:
            return  # deleted meanwhile
        self._report(key, "stopped")

    def _ensure_image(self) -> str:
        with self._image_lock:
            if self._image is None:
                self._image = image.ensure_image()
            return self._image

    # -- load balancers -> HAProxy ------------------------------------------------------------

    def _reconcile_lbs(self) -> None:
        wanted = set()
        resolver = resolve.LoadBalancerResolver(self.lab.context(), self._networks.security, self._networks.sources,
                                                self._probe_faulted_nics(), rolling.out_of_rotation_nics(self.store))
        for lb_id, body in self.store.list(LB_TYPE):
            key = key_of(lb_id)
            wanted.add(key)
            view = resolver.view(lb_id, body)
            fingerprint = json.dumps([body, repr(view)], sort_keys=True, default=str)
            if self._lb_running(lb_id) and self._applied.get(key) == (lb_id, fingerprint):
                continue
            try:
                result = self.lbs.apply(lb_id, body, view)
                self._applied[key] = (lb_id, fingerprint)
                self._error(key, None)
                set_unserved(self.store, lb_id, None)
                LOG.info("load balancer %s: %s in %.2fs", lb_id, result.action, result.seconds)
            except (HAProxyError, ValueError) as exc:
                self._error(key, f"load balancer {lb_id}: {exc}")
                if not self._lb_running(lb_id):  # a rejected reload leaves the previous one serving
                    set_unserved(self.store, lb_id, str(exc))
        for key, (lb_id, _) in list(self._applied.items()):
            if key not in wanted:
                self.lbs.remove(lb_id)
                set_unserved(self.store, lb_id, None)
                del self._applied[key]

    def _lb_running(self, lb_id: str) -> bool:
        return key_of(lb_id) in {key_of(i) for i in self.lbs.running()}

    def _probe_faulted_nics(self) -> set[str]:
        """NICs of the VMs under a probe fault (a NIC names its VM only when read through ARM)."""
        nics = set()
        for vm_key in self._faults["probe"]:
            vm = self.store.get(vm_key) or {}
            for ref in vm.get("properties", {}).get("networkProfile", {}).get("networkInterfaces", []):
                nics.add(key_of(ref["id"]))
        return nics

    def _record_health(self, event) -> None:
        self.store.record_health(event.load_balancer, event.rule, event.backend, event.ip, event.state,
                                 event.reason, event.ts)
