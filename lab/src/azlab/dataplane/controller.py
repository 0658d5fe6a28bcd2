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

import base64
import hashlib
import json
import logging
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azlab.dataplane import image, podman, vnet
from azlab.dataplane.lb import BackendMember, HAProxyError, LoadBalancerManager, LoadBalancerView, NatTarget
from azlab.dataplane.lb.paths import RuntimePaths
from azlab.dataplane.lb.process import HAProxyProcess
from azlab.dataplane.lb.view import RenderOptions
from azlab.models.compute.common import VM_TYPE
from azlab.models.compute.state import set_power_state, vm_spec
from azlab.models.network.common import LB_TYPE, VNET_TYPE
from azlab.models.network.lb import backend_name, nic_members
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)

ROLE_LABEL = "azlab.role"
#: Which lab (state directory) created a container or network: two labs on one machine
#: (a developer's and a test session's) never remove each other's.
LAB_INSTANCE_LABEL = "azlab.lab"
VM_LABEL = "azlab.vm"
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


def _safe(text: str, limit: int = 20) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:limit]


def _digest(text: str) -> str:
    return hashlib.sha1(key_of(text).encode()).hexdigest()[:8]


def container_name(vm_id: str) -> str:
    return f"azlab-{_safe(vm_id.rstrip('/').rsplit('/', 1)[1], 32)}-{_digest(vm_id)}"


def _subnet_prefixes(subnet: dict) -> list[str]:
    props = subnet.get("properties") or {}
    return list(props.get("addressPrefixes") or ([props["addressPrefix"]] if props.get("addressPrefix") else []))


def _mac(nic: dict) -> str:
    """Azure spells a MAC 00-0D-3A-..; podman wants 00:0d:3a:.."""
    mac = (nic.get("properties") or {}).get("macAddress")
    return mac.replace("-", ":").lower() if mac else image.mac_address_for(key_of(nic["id"]))


def instance_id(state_dir: Path) -> str:
    return _digest(str(Path(state_dir).resolve()))


def instance_label(state_dir: Path) -> str:
    return f"{LAB_INSTANCE_LABEL}={instance_id(state_dir)}"


def lab_objects(state_dir: Path, kind: str) -> list[str]:
    """Names of this lab's containers ("container": labelled azlab.managed AND this lab's)
    or network namespaces ("network": its VNets' and NICs')."""
    if kind == "network":
        return sorted(vnet.lab_namespaces(instance_id(state_dir)))
    filters = ["--filter", f"label={podman.LAB_LABEL}", "--filter", f"label={instance_label(state_dir)}"]
    return podman.run(["ps", "-a", *filters, "--format", "{{.Names}}"]).stdout.split()


def purge(state_dir: Path) -> None:
    """``azlab reset``: remove every container, namespace and HAProxy of this lab, nothing else.

    Only containers labelled ``azlab.managed=true`` and with this lab's instance label, and
    namespaces named with this lab's instance ID, are touched; HAProxys only through the
    pidfiles of the lab's own LB directories (the driver checks each PID's command line)."""
    if podman.unavailable_reason() is None:
        for name in lab_objects(state_dir, "container"):
            podman.remove_container(name)
    for name in lab_objects(state_dir, "network"):
        vnet.remove_namespace(name)
    lb_dir = Path(state_dir) / "lb"
    for directory in sorted(lb_dir.glob("*")) if lb_dir.is_dir() else []:
        process = HAProxyProcess.adopt(RuntimePaths(directory))
        if process is not None:
            process.stop()
        shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(Path(state_dir) / "seeds", ignore_errors=True)


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
        self._vnet_sources: dict[str, str] = {}  # VNet key -> host address that reaches into it
        self._vnets_made: dict[str, tuple] = {}  # VNet key -> (vnet.VNet made, its host address)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start reconciling; the first pass brings back what the state says runs."""
        podman.install_bootid_hook()
        vnet.ensure_host_rules()
        self.store.subscribe(self._on_change)
        self._thread = threading.Thread(target=self._loop, name="azlab-dataplane", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """``azlab down``: stop containers and HAProxys, keep the state for ``azlab up``."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._pool.shutdown(wait=True)
        names = [c["name"] for c in self._containers().values() if c["state"] == "running"]
        if names:
            podman.run(["stop", "--time", str(STOP_SECONDS), *names], check=False)
        self.lbs.stop_all()

    def reset(self) -> None:
        """After the store was cleared: remove everything the lab ever created here."""
        self.wait_idle(timeout=120)
        with self._idle:
            purge(self.state_dir)
            for table in (self._reported, self._restarts, self._started_at, self._applied, self._errors, self._notes,
                          self._vnets_made):
                table.clear()
            self.clear_faults()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until a full pass started after this call has finished (tests, reset)."""
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._idle:
            target = self._passes + 2  # the pass under way may predate the call
            while self._passes < target or self._creating:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    # -- faults ---------------------------------------------------------------------------

    def set_fault(self, kind: str, vm_id: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        vm = self.store.get(vm_id)
        if vm is None or vm.get("type", "").lower() != VM_TYPE.lower():
            raise ValueError(f"no virtual machine {vm_id}")
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
        for vm_id, _ in self.store.list(VM_TYPE):
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
                "errors": dict(self._errors)}

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
        vnets = self._reconcile_vnets()
        nics_in_use = self._reconcile_vms(containers, vnets)
        self._remove_stale_namespaces(nics_in_use)
        self._reconcile_lbs()
        self._forget_deleted()

    def _containers(self) -> dict[str, dict]:
        """The lab's VM containers by VM key: name, podman state, start time."""
        out = podman.run(["ps", "-a", "--filter", f"label={ROLE_LABEL}=vm", "--filter",
                          f"label={instance_label(self.state_dir)}", "--format", "json"]).stdout
        containers = {}
        for entry in json.loads(out or "[]"):
            labels = entry.get("Labels") or {}
            containers[labels.get(VM_LABEL, "")] = {
                "name": entry["Names"][0], "state": entry["State"], "started": str(entry.get("StartedAt"))}
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

    # -- VNets -> network namespaces -----------------------------------------------------------

    @property
    def _lab(self) -> str:
        return instance_id(self.state_dir)

    def _reconcile_vnets(self) -> set[str]:
        """Make every VNet's namespace; return the keys of the VNets that have one.

        A VNet whose namespace exists and whose subnets did not change since it was made is
        not touched again (one ``ip netns list`` per pass, not a dozen commands per VNet)."""
        ready, sources = set(), {}
        present = vnet.lab_namespaces(self._lab)
        for vnet_id, body in self.store.list(VNET_TYPE):
            key = key_of(vnet_id)
            wanted = vnet.VNet(vnet_id, tuple(cidr for subnet in body.get("properties", {}).get("subnets", [])
                                              for cidr in _subnet_prefixes(subnet)))
            made = self._vnets_made.get(key)
            if made is not None and made[0] == wanted and vnet.vnet_namespace(self._lab, vnet_id) in present:
                sources[key] = made[1]
                ready.add(key)
                continue
            try:
                sources[key] = vnet.ensure_vnet(self._lab, wanted)
                self._vnets_made[key] = (wanted, sources[key])
            except vnet.NetworkError as exc:
                self._error(key, f"virtual network {vnet_id}: {exc}")
                continue
            self._error(key, None)
            ready.add(key)
        self._vnet_sources = sources
        return ready

    def _remove_stale_namespaces(self, nics_in_use: set[str]) -> None:
        """Namespaces of deleted VNets, and of NICs that no VM container uses any more."""
        keep = {vnet.vnet_namespace(self._lab, vnet_id) for vnet_id, _ in self.store.list(VNET_TYPE)}
        keep |= {vnet.nic_namespace(self._lab, nic) for nic in nics_in_use}
        for name in vnet.lab_namespaces(self._lab) - keep:
            vnet.remove_namespace(name)

    def _forget_deleted(self) -> None:
        """Errors and notes of resources that no longer exist go with them."""
        for table in (self._errors, self._notes):
            for key in [k for k in table if k.startswith("/") and not self.store.exists(k)]:
                del table[key]

    # -- VMs -> containers ----------------------------------------------------------------------

    def _reconcile_vms(self, containers: dict[str, dict], vnets: set[str]) -> set[str]:
        """Containers for the VMs; return the IDs of the NICs whose namespace a VM uses."""
        wanted, nics_in_use = set(), set()
        for vm_id, _ in self.store.list(VM_TYPE):
            key = key_of(vm_id)
            wanted.add(key)
            spec = vm_spec(self.store, vm_id)
            if spec["os_type"] != "Linux" or not spec["guest"]:
                self._notes[key] = WINDOWS_NOTE if spec["os_type"] == "Windows" else "no guest (not created from an image)"
                continue
            if spec["network_interfaces"]:
                nics_in_use.add(key_of(spec["network_interfaces"][0]))
            try:
                self._reconcile_vm(spec, containers.get(key), vnets)
            except (podman.PodmanError, vnet.NetworkError) as exc:
                self._error(key, f"VM {vm_id}: {exc}")
        for key, container in containers.items():
            if key not in wanted and key not in self._creating:
                podman.remove_container(container["name"])
                shutil.rmtree(self.seeds_dir / container["name"], ignore_errors=True)
                for table in (self._reported, self._restarts, self._started_at, self._notes, self._errors):
                    table.pop(key, None)
        return nics_in_use

    def _reconcile_vm(self, spec: dict, container: dict | None, vnets: set[str]) -> None:
        key = key_of(spec["id"])
        if key in self._creating:
            return
        self._note_arm_requests(key, spec)
        goal = spec["power_goal"] or "running"
        held_down = key in self._faults["kill"] or key in self._faults["boot"]
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
            port = self._nic_port(spec)
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
        port = self._nic_port(spec)
        if port is None:
            return
        if key_of(port.vnet_id) not in vnets:
            self._error(key, f"VM {spec['id']}: its virtual network has no namespace (see the VNet's error)")
            return
        self._error(key, None)
        self._creating.add(key)
        self._report(key, "starting")
        self._pool.submit(self._create_container, spec, port)

    def _nic_port(self, spec: dict) -> vnet.NicPort | None:
        """The VM's primary NIC ip configuration as the guest will see it (None: an error is noted)."""
        nic = self.store.get(spec["network_interfaces"][0]) if spec["network_interfaces"] else None
        configs = (nic or {}).get("properties", {}).get("ipConfigurations", [])
        config = next((c for c in configs if c["properties"].get("primary")), configs[0] if configs else None)
        subnet_id = ((config or {}).get("properties", {}).get("subnet") or {}).get("id")
        cidr = self._subnet_cidr(subnet_id) if subnet_id else None
        if config is None or cidr is None:
            self._error(key_of(spec["id"]), f"VM {spec['id']}: no NIC ip configuration with a subnet")
            return None
        return vnet.NicPort(nic_id=nic["id"], vnet_id=vnet.vnet_of(subnet_id),
                            private_ip=config["properties"]["privateIPAddress"], subnet_cidr=cidr, mac=_mac(nic))

    def _subnet_cidr(self, subnet_id: str) -> str | None:
        """The prefix of the subnet that holds a NIC (its first, when it has several)."""
        name = subnet_id.rstrip("/").rsplit("/subnets/", 1)[1]
        for subnet in (self.store.get(vnet.vnet_of(subnet_id)) or {}).get("properties", {}).get("subnets", []):
            if subnet["name"].lower() == name.lower():
                prefixes = _subnet_prefixes(subnet)
                return prefixes[0] if prefixes else None
        return None

    def _create_container(self, spec: dict, port: vnet.NicPort) -> None:
        key = key_of(spec["id"])
        name = container_name(spec["id"])
        try:
            ref = self._ensure_image()
            seed = self._write_seed(spec, self.seeds_dir / name)
            podman.remove_container(name)  # a half-created one from an interrupted run
            netns = vnet.ensure_nic(self._lab, port)
            podman.run(image.vm_run_args(name, ref, hostname=spec["guest"].get("computerName") or spec["name"],
                                         seed_dir=seed, network=f"ns:{netns}",
                                         labels={**self._labels("vm"), VM_LABEL: key}))
            LOG.info("VM %s: container %s started", spec["id"], name)
        except (podman.PodmanError, image.ImageBuildError, vnet.NetworkError) as exc:
            self._error(key, f"VM {spec['id']}: {exc}")
        finally:
            self._creating.discard(key)
            self._wake.set()

    def _ensure_image(self) -> str:
        with self._image_lock:
            if self._image is None:
                self._image = image.ensure_image()
            return self._image

    @staticmethod
    def _write_seed(spec: dict, seed_dir: Path) -> Path:
        guest = spec["guest"]
        custom = guest.get("customData")
        return image.write_nocloud_seed(
            seed_dir, instance_id=spec["vm_id"], hostname=guest.get("computerName") or spec["name"],
            admin_username=guest["adminUsername"],
            ssh_public_keys=[k["keyData"] for k in guest.get("sshPublicKeys") or []],
            custom_data=base64.b64decode(custom) if custom else None,
            disable_password_authentication=not guest.get("passwordAuthentication", False))

    # -- load balancers -> HAProxy ------------------------------------------------------------

    def _reconcile_lbs(self) -> None:
        wanted = set()
        for lb_id, body in self.store.list(LB_TYPE):
            key = key_of(lb_id)
            wanted.add(key)
            view = self._lb_view(lb_id, body)
            fingerprint = json.dumps([body, repr(view)], sort_keys=True, default=str)
            if self._lb_running(lb_id) and self._applied.get(key) == (lb_id, fingerprint):
                continue
            try:
                result = self.lbs.apply(lb_id, body, view)
                self._applied[key] = (lb_id, fingerprint)
                self._error(key, None)
                LOG.info("load balancer %s: %s in %.2fs", lb_id, result.action, result.seconds)
            except (HAProxyError, ValueError) as exc:
                self._error(key, f"load balancer {lb_id}: {exc}")
        for key, (lb_id, _) in list(self._applied.items()):
            if key not in wanted:
                self.lbs.remove(lb_id)
                del self._applied[key]

    def _lb_running(self, lb_id: str) -> bool:
        return key_of(lb_id) in {key_of(i) for i in self.lbs.running()}

    def _lb_view(self, lb_id: str, body: dict) -> LoadBalancerView:
        """Resolve what the LB body only references: addresses, pool members, NAT targets."""
        props = body.get("properties", {})
        members = nic_members(self.lab.context(), lb_id)
        faulted_nics = self._probe_faulted_nics()
        addresses = {}
        for frontend in props.get("frontendIPConfigurations", []):
            pip_id = ((frontend.get("properties") or {}).get("publicIPAddress") or {}).get("id")
            pip = self.store.get(pip_id) if pip_id else None
            if pip and pip["properties"].get("ipAddress"):
                addresses[pip_id] = pip["properties"]["ipAddress"]
        pools = {pool["id"]: self._pool_members(pool, members.get(pool["id"].lower(), []), faulted_nics)
                 for pool in props.get("backendAddressPools", [])}
        nat = {}
        for rule in props.get("inboundNatRules", []):
            targets = members.get(rule["id"].lower(), [])
            source = self._source_into(targets[0][1]["properties"].get("subnet")) if targets else None
            # no source: its VNet has no namespace yet, so nothing may be reached (not even
            # by the host's own routes, which lead out of the lab)
            nat[rule["id"]] = (NatTarget(targets[0][1]["id"], targets[0][1]["properties"]["privateIPAddress"], source)
                               if source else None)
        return LoadBalancerView(addresses, pools, nat)

    def _source_into(self, subnet_or_vnet: dict | None) -> str | None:
        """The host address that reaches into the VNet a subnet (or VNet) reference points
        into; None while that VNet has no namespace (then nothing is reached)."""
        ref = (subnet_or_vnet or {}).get("id")
        return self._vnet_sources.get(key_of(vnet.vnet_of(ref))) if ref else None

    def _pool_members(self, pool: dict, nic_configs: list, faulted_nics: set[str]) -> list[BackendMember]:
        stored = {a["name"]: a["properties"] for a in pool.get("properties", {}).get("loadBalancerBackendAddresses", [])}
        out = []
        for nic, config in nic_configs:
            admin = stored.get(backend_name(config), {}).get("adminState", "None")
            source = self._source_into(config["properties"].get("subnet"))
            if source is None:
                continue  # its VNet has no namespace yet: nothing can reach it
            out.append(BackendMember(config["id"], config["properties"].get("privateIPAddress", ""), admin,
                                     probe_fault=key_of(nic["id"]) in faulted_nics, source=source))
        pool_vnet = pool.get("properties", {}).get("virtualNetwork")
        for name, address in stored.items():
            if address.get("ipAddress"):
                # an IP-based pool address is reached in the VNet it names (Azure requires one)
                source = self._source_into(address.get("virtualNetwork") or address.get("subnet") or pool_vnet)
                if source is None:
                    continue
                out.append(BackendMember(f"{pool['id']}/loadBalancerBackendAddresses/{name}", address["ipAddress"],
                                         address.get("adminState", "None"), source=source))
        return out

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
