"""ARM resource IDs: parsing and Azure's spelling."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceId:
    """``/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{type}/{name}]...``"""

    subscription: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "ResourceId":
        parts = [p for p in text.strip("/").split("/")]
        if (
            len(parts) < 8
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or len(parts[6:]) % 2
            or not all(parts)
        ):
            raise ValueError(f"'{text}' is not a valid ARM resource ID")
        rest = parts[6:]
        return cls(parts[1], parts[3], parts[5], tuple(rest[0::2]), tuple(rest[1::2]))

    @classmethod
    def build(cls, subscription: str, resource_group: str, full_type: str, *names: str) -> "ResourceId":
        namespace, *types = full_type.split("/")
        return cls(subscription, resource_group, namespace, tuple(types), tuple(names))

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def full_type(self) -> str:
        return "/".join((self.namespace, *self.types))

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    @property
    def parent(self) -> "ResourceId | None":
        if len(self.types) == 1:
            return None
        return ResourceId(self.subscription, self.resource_group, self.namespace, self.types[:-1], self.names[:-1])

    def child(self, child_type: str, name: str) -> "ResourceId":
        return ResourceId(self.subscription, self.resource_group, self.namespace, (*self.types, child_type), (*self.names, name))

    def __str__(self) -> str:
        pairs = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names))
        return f"{self.resource_group_id}/providers/{self.namespace}/{pairs}"


def same_id(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/").lower() == b.rstrip("/").lower()
