"""The running lab: state, identity, operations, latency and faults in one place."""

from __future__ import annotations

import time
from dataclasses import asdict

from azlab.arm.auth import TokenService
from azlab.arm.latency import PROFILES, Faults, Profile
from azlab.arm.operations import Operation, Operations
from azlab.models import build_registry
from azlab.models.base import Context
from azlab.models.ids import ResourceId
from azlab.models.resources import RESOURCE_GROUP_TYPE
from azlab.models.store import Store, key_of
from azlab.settings import PUBLIC_IP_RANGE_KEY, LabSettings


class Lab:
    def __init__(self, settings: LabSettings, store: Store | None = None):
        self.settings = settings
        self.identity = settings.identity()
        self.store = store or Store(settings.db_path)
        self.store.set_value(PUBLIC_IP_RANGE_KEY, settings.public_ip_range)
        self.registry = build_registry()
        self.operations = Operations()
        self.faults = Faults()
        self.tokens = TokenService(self.identity)
        # set by LabServer when VMs and LBs run for real (azlab.dataplane.controller)
        self.dataplane = None
        self.dataplane_off_reason = "not started with a data plane"

    def context(self) -> Context:
        ctx = Context(self.store, self.registry, self.identity.subscription_id, self.operations.now)
        ctx.tenant_id = self.identity.tenant_id
        if self.dataplane is None:
            ctx.no_guest_reason = f"the lab runs without a data plane: {self.dataplane_off_reason}"
        return ctx

    # -- latency ----------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        return Profile(**self.store.get_value("profile", asdict(Profile())))

    def set_profile(self, name: str, factor: float = 1.0) -> Profile:
        if name not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
        if factor <= 0:
            raise ValueError("factor must be positive")
        profile = Profile(name, factor)
        self.store.set_value("profile", asdict(profile))
        return profile

    def sleep_lro(self, full_type: str, verb: str) -> None:
        """Synchronous writes still take Azure's time under the realistic profile."""
        seconds = self.profile.lro_seconds(full_type, verb)
        if seconds:
            time.sleep(seconds)

    def start_operation(self, namespace: str, location: str, resource_id: str, kind: str, full_type: str,
                        verb: str, on_done=None, result: dict | None = None, action: str | None = None) -> Operation:
        duration = self.profile.lro_seconds(full_type, verb)
        gate = self.dataplane.gate_for(kind, full_type, resource_id, action) if self.dataplane is not None else None
        rtype = self.registry.find(full_type)
        gate_timeout = None
        if gate is None and rtype is not None:
            gate = rtype.operation_gate(self.context(), resource_id, kind, action)
            gate_timeout = rtype.gate_timeout
        op = self.operations.start(namespace, location, resource_id, kind, duration, on_done, result, gate)
        if gate_timeout is not None:
            op.gate_timeout = gate_timeout
        return op

    # -- deletes ----------------------------------------------------------------------

    def delete_resource(self, rid: ResourceId) -> None:
        """Delete a resource and the resources nested under it (e.g. VM extensions)."""
        ctx = self.context()
        with self.store.transaction():
            body = self.store.get(str(rid))
            if body is None:
                return
            for child_id, _ in reversed(self.store.list(prefix=str(rid))):
                self.store.delete(child_id)
            self.store.delete(str(rid))
            rtype = self.registry.find(rid.full_type)
            if rtype is not None:
                rtype.on_deleted(ctx, rid, body)

    def delete_resource_group(self, rg_id: str) -> None:
        """Azure deletes dependents first; reverse creation order achieves that."""
        with self.store.transaction():
            for resource_id, body in reversed(self.store.list(prefix=rg_id)):
                self.store.delete(resource_id)
            self.store.delete(rg_id)

    def reset(self) -> None:
        self.store.clear()
        self.store.set_value(PUBLIC_IP_RANGE_KEY, self.settings.public_ip_range)
        self.faults.clear()
        if self.dataplane is not None:
            self.dataplane.reset()

    def dataplane_status(self) -> dict:
        if self.dataplane is None:
            return {"enabled": False, "reason": self.dataplane_off_reason}
        return self.dataplane.status()

    def resource_groups(self) -> list[dict]:
        return [body for _, body in self.store.list(RESOURCE_GROUP_TYPE)]

    def resource_table(self) -> list[dict]:
        """One row per resource for ``azlab status``."""
        rows = []
        for resource_id, body in self.store.list():
            if body.get("type", "").lower() == RESOURCE_GROUP_TYPE.lower():
                continue
            rid = ResourceId.parse(resource_id)
            props = body.get("properties") or {}
            rows.append({
                "resource_group": rid.resource_group,
                "type": body.get("type"),
                "name": "/".join(rid.names),
                "state": props.get("provisioningState", ""),
                "detail": self._detail(body),
                "key": key_of(resource_id),
            })
        return rows

    def _detail(self, body: dict) -> str:
        rtype = self.registry.find(body.get("type", ""))
        describe = getattr(rtype, "describe", None)
        return describe(self.context(), body) if describe else ""
