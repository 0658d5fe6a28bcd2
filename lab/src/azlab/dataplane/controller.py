"""The lab's data plane: makes what the store says exist real on this machine.

Subnets become podman networks, Linux VMs podman containers, load balancers HAProxys
(``dataplane/lb``). The controller subscribes to the store, but its callback only marks
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
import ipaddress
import json
import logging
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azlab.dataplane import image, podman
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


def network_name(subnet_id: str) -> str:
    """Readable and unique per subnet ID (same-named subnets in two VNets differ)."""
    parts = subnet_id.rstrip("/").split("/")
    return f"azlab-{_safe(parts[-3], 16)}-{_safe(parts[-1], 16)}-{_digest(subnet_id)}"


def container_name(vm_id: str) -> str:
    return f"azlab-{_safe(vm_id.rstrip('/').rsplit('/', 1)[1], 32)}-{_digest(vm_id)}"


def host_route_conflict(cidr: str, ignore_devices: set[str]) -> str | None:
    """The host route a subnet CIDR overlaps (``ip -j route``), or None.

    A podman network on such a CIDR would hijack the host's traffic to that range (the
    host's own 192.0.2.0/24 here), so it is refused instead of created."""
    wanted = ipaddress.ip_network(cidr, strict=False)
    routes = json.loads(subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True,
                                       check=True).stdout or "[]")
    for route in routes:
        if route.get("dst") in (None, "default") or route.get("dev") in ignore_devices:
            continue
        if ipaddress.ip_network(route["dst"], strict=False).overlaps(wanted):
            return f"{route['dst']} dev {route.get('dev')}"
    return None


def _mac(nic: dict) -> str:
    """Azure spells a MAC 00-0D-3A-..; podman wants 00:0d:3a:.."""
    mac = (nic.get("properties") or {}).get("macAddress")
    return mac.replace("-", ":").lower() if mac else image.mac_address_for(key_of(nic["id"]))


def instance_id(state_dir: Path) -> str:
    return _digest(str(Path(state_dir).resolve()))


def instance_label(state_dir: Path) -> str:
    return f"{LAB_INSTANCE_LABEL}={instance_id(state_dir)}"


def lab_objects(state_dir: Path, kind: str) -> list[str]:
    """Names of this lab's containers or networks: labelled azlab.managed AND this lab's."""
    filters = ["--filter", f"label={podman.LAB_LABEL}", "--filter", f"label={instance_label(state_dir)}"]
    if kind == "container":
        args = ["ps", "-a", *filters, "--format", "{{.Names}}"]
    else:
        args = ["network", "ls", *filters, "--format", "{{.Name}}"]
    return podman.run(args).stdout.split()


def purge(state_dir: Path) -> None:
    """``azlab reset``: remove every container, network and HAProxy of this lab, nothing else.

    Only objects labelled ``azlab.managed=true`` and with this lab's instance label are
    touched; HAProxys only through the pidfiles of the lab's own LB directories (the driver
    checks each PID's command line)."""
    if podman.unavailable_reason() is None:
        for name in lab_objects(state_dir, "container"):
            podman.remove_container(name)
        for name in lab_objects(state_dir, "network"):
            podman.remove_network(name)
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

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start reconciling; the first pass brings back what the state says runs."""
        podman.install_bootid_hook()
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
            for table in (self._reported, self._restarts, self._started_at, self._applied, self._errors, self._notes):
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
        networks = self._reconcile_networks()
        self._reconcile_vms(containers, networks)
        self._remove_stale_networks()
        self._reconcile_lbs()

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

    # -- subnets -> podman networks -----------------------------------------------------------

    def _subnets(self) -> dict[str, tuple[str, str]]:
        """{network name: (subnet ID, CIDR)} for every subnet in the store."""
        wanted = {}
        for _, vnet in self.store.list(VNET_TYPE):
            for subnet in vnet.get("properties", {}).get("subnets", []):
                props = subnet.get("properties") or {}
                cidr = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
                if cidr:
                    wanted[network_name(subnet["id"])] = (subnet["id"], cidr)
        return wanted

    def _reconcile_networks(self) -> dict[str, tuple[str, str]]:
        """Create missing networks; return the ones that exist (refused ones are left out)."""
        wanted = self._subnets()
        existing = set(lab_objects(self.state_dir, "network"))
        ready = {}
        for name, (subnet_id, cidr) in wanted.items():
            if name not in existing:
                conflict = host_route_conflict(cidr, self._bridges(existing))
                if conflict:
                    self._error(key_of(subnet_id), f"subnet {subnet_id}: {cidr} collides with the host route "
                                                   f"{conflict}; no podman network (and no VM) on it")
                    continue
                try:
                    podman.create_network(name, cidr, self._labels("subnet"))
                except podman.PodmanError as exc:
                    self._error(key_of(subnet_id), f"subnet {subnet_id}: {exc}")
                    continue
            self._error(key_of(subnet_id), None)
            ready[name] = (subnet_id, cidr)
        return ready

    @staticmethod
    def _bridges(networks: set[str]) -> set[str]:
        """The lab's own bridges: their routes are ours, not a collision."""
        if not networks:
            return set()
        info = json.loads(podman.run(["network", "inspect", *sorted(networks)]).stdout or "[]")
        return {n.get("network_interface") for n in info if n.get("network_interface")}

    def _remove_stale_networks(self) -> None:
        """Networks of deleted subnets go once no container uses them."""
        wanted = self._subnets()
        for name in lab_objects(self.state_dir, "network"):
            if name not in wanted:
                podman.run(["network", "rm", name], check=False)

    # -- VMs -> containers ----------------------------------------------------------------------

    def _reconcile_vms(self, containers: dict[str, dict], networks: dict) -> None:
        wanted = set()
        for vm_id, _ in self.store.list(VM_TYPE):
            key = key_of(vm_id)
            wanted.add(key)
            spec = vm_spec(self.store, vm_id)
            if spec["os_type"] != "Linux" or not spec["guest"]:
                self._notes[key] = WINDOWS_NOTE if spec["os_type"] == "Windows" else "no guest (not created from an image)"
                continue
            try:
                self._reconcile_vm(spec, containers.get(key), networks)
            except podman.PodmanError as exc:
                self._error(key, f"VM {vm_id}: {exc}")
        for key, container in containers.items():
            if key not in wanted and key not in self._creating:
                podman.remove_container(container["name"])
                shutil.rmtree(self.seeds_dir / container["name"], ignore_errors=True)
                for table in (self._reported, self._restarts, self._started_at, self._notes, self._errors):
                    table.pop(key, None)

    def _reconcile_vm(self, spec: dict, container: dict | None, networks: dict) -> None:
        key = key_of(spec["id"])
        if key in self._creating:
            return
        self._note_arm_requests(key, spec)
        goal = spec["power_goal"] or "running"
        held_down = key in self._faults["kill"] or key in self._faults["boot"]
        if container is None:
            if goal == "running" and not held_down:
                self._create(spec, networks)
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

    def _create(self, spec: dict, networks: dict) -> None:
        """Queue one VM for the creation pool (VMs boot in parallel, as Azure creates them)."""
        key = key_of(spec["id"])
        placement = self._nic_placement(spec)
        if placement is None:
            return
        network, ip, mac = placement
        if network not in networks:
            self._error(key, f"VM {spec['id']}: its subnet has no podman network (see the subnet's error)")
            return
        self._error(key, None)
        self._creating.add(key)
        self._report(key, "starting")
        self._pool.submit(self._create_container, spec, network, ip, mac)

    def _nic_placement(self, spec: dict) -> tuple[str, str, str] | None:
        """(network, private IP, MAC) of the VM's primary NIC ip configuration."""
        nic = self.store.get(spec["network_interfaces"][0]) if spec["network_interfaces"] else None
        configs = (nic or {}).get("properties", {}).get("ipConfigurations", [])
        config = next((c for c in configs if c["properties"].get("primary")), configs[0] if configs else None)
        if config is None or not config["properties"].get("subnet"):
            self._error(key_of(spec["id"]), f"VM {spec['id']}: no NIC ip configuration with a subnet")
            return None
        props = config["properties"]
        return network_name(props["subnet"]["id"]), props["privateIPAddress"], _mac(nic)

    def _create_container(self, spec: dict, network: str, ip: str, mac: str) -> None:
        key = key_of(spec["id"])
        name = container_name(spec["id"])
        try:
            ref = self._ensure_image()
            seed = self._write_seed(spec, self.seeds_dir / name)
            podman.remove_container(name)  # a half-created one from an interrupted run
            podman.run(image.vm_run_args(name, ref, hostname=spec["guest"].get("computerName") or spec["name"],
                                         seed_dir=seed, network=network, ip=ip, mac=mac,
                                         labels={**self._labels("vm"), VM_LABEL: key}))
            LOG.info("VM %s: container %s started", spec["id"], name)
        except (podman.PodmanError, image.ImageBuildError) as exc:
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
            nat[rule["id"]] = (NatTarget(targets[0][1]["id"], targets[0][1]["properties"]["privateIPAddress"])
                               if targets else None)
        return LoadBalancerView(addresses, pools, nat)

    def _pool_members(self, pool: dict, nic_configs: list, faulted_nics: set[str]) -> list[BackendMember]:
        stored = {a["name"]: a["properties"] for a in pool.get("properties", {}).get("loadBalancerBackendAddresses", [])}
        out = []
        for nic, config in nic_configs:
            admin = stored.get(backend_name(config), {}).get("adminState", "None")
            out.append(BackendMember(config["id"], config["properties"].get("privateIPAddress", ""), admin,
                                     probe_fault=key_of(nic["id"]) in faulted_nics))
        for name, address in stored.items():
            if address.get("ipAddress"):
                out.append(BackendMember(f"{pool['id']}/loadBalancerBackendAddresses/{name}", address["ipAddress"],
                                         address.get("adminState", "None")))
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
