"""Azure's error codes, raised by the models and serialised by the ARM layer."""

from __future__ import annotations


class ArmError(Exception):
    """An error ARM would answer with: HTTP status plus the ``error`` envelope."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None, details: list | None = None):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []

    def envelope(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_parameter(target: str, message: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def missing_property(target: str, rtype: str) -> ArmError:
    return ArmError(
        400,
        "InvalidRequestFormat",
        f"Cannot parse the request: required property '{target}' is missing for resource type '{rtype}'.",
        target=target,
    )


def not_found(resource_type: str, name: str, resource_group: str | None) -> ArmError:
    where = f" under resource group '{resource_group}'" if resource_group else ""
    return ArmError(404, "ResourceNotFound", f"The Resource '{resource_type}/{name}'{where} was not found.")


def resource_group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def invalid_reference(referenced_id: str, referencing_id: str, prop: str) -> ArmError:
    return ArmError(
        400,
        "InvalidResourceReference",
        f"Resource {referenced_id} referenced by resource {referencing_id} was not found. "
        f"Please make sure that the referenced resource exists, and that both resources are in the same region.",
        target=prop,
    )


def operation_not_allowed(message: str, target: str | None = None) -> ArmError:
    return ArmError(409, "OperationNotAllowed", message, target=target)
