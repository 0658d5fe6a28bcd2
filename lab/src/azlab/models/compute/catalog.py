"""What the lab's region offers: VM sizes, marketplace images, VM extension handlers.

Served under ``/subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/...`` as
Azure serves them (the image lists are bare JSON arrays), and used by the types to
refuse what Azure refuses (unknown size, image or extension version).
"""

from __future__ import annotations

from dataclasses import dataclass

from azlab.models.base import Context, Registry, normalise_location
from azlab.models.errors import ArmError
from azlab.models.compute.common import AVSET_TYPE, vm_bodies

OS_DISK_SIZE_MB = 1047552  # what every size reports as its maximum OS disk


@dataclass(frozen=True)
class VmSize:
    name: str
    cores: int
    memory_mb: int
    max_data_disks: int
    resource_disk_mb: int

    @property
    def premium_storage(self) -> bool:
        """Sizes with an 's' in the family/version part take Premium SSDs (B, DS, Dsv3, Esv3 ...)."""
        family = self.name.split("_", 1)[1]
        return family.startswith(("B", "DS", "GS")) or "s_v" in family

    def body(self) -> dict:
        return {"name": self.name, "numberOfCores": self.cores, "osDiskSizeInMB": OS_DISK_SIZE_MB,
                "resourceDiskSizeInMB": self.resource_disk_mb, "memoryInMB": self.memory_mb,
                "maxDataDiskCount": self.max_data_disks}


VM_SIZES = {size.name.lower(): size for size in (
    VmSize("Standard_B1ls", 1, 512, 2, 4096),
    VmSize("Standard_B1s", 1, 1024, 2, 4096),
    VmSize("Standard_B1ms", 1, 2048, 2, 4096),
    VmSize("Standard_B2s", 2, 4096, 4, 8192),
    VmSize("Standard_B2ms", 2, 8192, 4, 16384),
    VmSize("Standard_B4ms", 4, 16384, 8, 32768),
    VmSize("Standard_A1_v2", 1, 2048, 2, 10240),
    VmSize("Standard_A2_v2", 2, 4096, 4, 20480),
    VmSize("Standard_DS1_v2", 1, 3584, 4, 7168),
    VmSize("Standard_DS2_v2", 2, 7168, 8, 14336),
    VmSize("Standard_DS3_v2", 4, 14336, 16, 28672),
    VmSize("Standard_D2s_v3", 2, 8192, 4, 16384),
    VmSize("Standard_D4s_v3", 4, 16384, 8, 32768),
    VmSize("Standard_D8s_v3", 8, 32768, 16, 65536),
    VmSize("Standard_D2s_v5", 2, 8192, 4, 0),
    VmSize("Standard_D4s_v5", 4, 16384, 8, 0),
    VmSize("Standard_D2as_v5", 2, 8192, 4, 0),
    VmSize("Standard_E2s_v3", 2, 16384, 4, 32768),
    VmSize("Standard_F2s_v2", 2, 4096, 4, 16384),
)}


def find_size(name: str | None) -> VmSize | None:
    return VM_SIZES.get(name.lower()) if isinstance(name, str) else None


@dataclass(frozen=True)
class Image:
    """One marketplace SKU and its versions (oldest first)."""

    publisher: str
    offer: str
    sku: str
    os_type: str  # Linux | Windows
    generation: str  # V1 | V2
    disk_gb: int
    os_name: str  # what the guest agent reports (instance view osName/osVersion)
    os_version: str
    versions: tuple[str, ...]

    @property
    def urn(self) -> str:
        return f"{self.publisher}:{self.offer}:{self.sku}"

    def resolve(self, version: str | None) -> str | None:
        """'latest' -> the newest version; an exact version -> itself if published."""
        if not version or version.lower() == "latest":
            return self.versions[-1]
        return version if version in self.versions else None

    def version_id(self, subscription: str, location: str, version: str) -> str:
        return (f"/Subscriptions/{subscription}/Providers/Microsoft.Compute/Locations/{location}/Publishers/"
                f"{self.publisher}/ArtifactTypes/VMImage/Offers/{self.offer}/Skus/{self.sku}/Versions/{version}")


def _linux(publisher, offer, sku, generation, os_name, os_version, versions):
    return Image(publisher, offer, sku, "Linux", generation, 30, os_name, os_version, versions)


def _windows(sku, generation, versions):
    return Image("MicrosoftWindowsServer", "WindowsServer", sku, "Windows", generation, 127,
                 "Windows Server", "", versions)


BIONIC = ("18.04.202306070", "18.04.202401161")
FOCAL = ("20.04.202404080", "20.04.202409110", "20.04.202501140")
JAMMY = ("22.04.202404100", "22.04.202409120", "22.04.202501140")
NOBLE = ("24.04.202409120", "24.04.202501140")
BULLSEYE = ("0.20240211.1654", "0.20240717.1811", "0.20250112.1990")
BOOKWORM = ("0.20240211.1654", "0.20240717.1811", "0.20250112.1990")
RHEL8 = ("8.10.2024062718", "8.10.2025011512")
RHEL9 = ("9.4.2024062718", "9.5.2025011512")
WS2025 = ("26100.2894.250113",)
WS2022 = ("20348.2461.240510", "20348.2762.241009", "20348.3091.250112")
WS2019 = ("17763.5820.240510", "17763.6414.241004")
WS2016 = ("14393.7070.240608", "14393.7699.250109")
#: The marketplace images Azure's docs and tools use as defaults (az vm create's aliases,
#: the portal's quick starts), old and new offer names. Every Linux one runs the lab's one
#: guest, Debian 12 (GUEST_OS); the instance view says so.
IMAGES = (
    _linux("Canonical", "UbuntuServer", "18.04-LTS", "V1", "ubuntu", "18.04", BIONIC),
    _linux("Canonical", "UbuntuServer", "18_04-lts-gen2", "V2", "ubuntu", "18.04", BIONIC),
    _linux("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts", "V1", "ubuntu", "20.04", FOCAL),
    _linux("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts-gen2", "V2", "ubuntu", "20.04", FOCAL),
    _linux("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "V1", "ubuntu", "22.04", JAMMY),
    _linux("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "V2", "ubuntu", "22.04", JAMMY),
    _linux("Canonical", "ubuntu-22_04-lts", "server", "V2", "ubuntu", "22.04", JAMMY),
    _linux("Canonical", "ubuntu-22_04-lts", "server-gen1", "V1", "ubuntu", "22.04", JAMMY),
    _linux("Canonical", "ubuntu-24_04-lts", "server", "V2", "ubuntu", "24.04", NOBLE),
    _linux("Canonical", "ubuntu-24_04-lts", "server-gen1", "V1", "ubuntu", "24.04", NOBLE),
    _linux("Debian", "debian-11", "11", "V1", "debian", "11", BULLSEYE),
    _linux("Debian", "debian-11", "11-gen2", "V2", "debian", "11", BULLSEYE),
    _linux("Debian", "debian-11", "11-backports-gen2", "V2", "debian", "11", BULLSEYE),
    _linux("Debian", "debian-12", "12", "V1", "debian", "12", BOOKWORM),
    _linux("Debian", "debian-12", "12-gen2", "V2", "debian", "12", BOOKWORM),
    _linux("RedHat", "RHEL", "8-lvm-gen2", "V2", "redhat", "8.10", RHEL8),
    _linux("RedHat", "RHEL", "9-lvm-gen2", "V2", "redhat", "9.5", RHEL9),
    _linux("RedHat", "RHELRaw", "8-lvm-gen2", "V2", "redhat", "8.10", RHEL8),
    _windows("2025-datacenter-azure-edition", "V2", WS2025),
    _windows("2022-datacenter", "V1", WS2022),
    _windows("2022-datacenter-g2", "V2", WS2022),
    _windows("2022-datacenter-azure-edition", "V2", WS2022),
    _windows("2022-datacenter-azure-edition-core", "V2", WS2022),
    _windows("2019-datacenter", "V1", WS2019),
    _windows("2019-datacenter-gensecond", "V2", WS2019),
    _windows("2016-datacenter", "V1", WS2016),
    _windows("2016-datacenter-gensecond", "V2", WS2016),
)
#: (osName, osVersion) of the one Linux guest the lab runs, whatever image was asked for
GUEST_OS = ("debian", "12")


def find_image(publisher: str | None, offer: str | None, sku: str | None) -> Image | None:
    want = (str(publisher).lower(), str(offer).lower(), str(sku).lower())
    return next((i for i in IMAGES if (i.publisher.lower(), i.offer.lower(), i.sku.lower()) == want), None)


def image_from_version_id(image_id: str | None) -> tuple[Image, str] | None:
    """(image, version) named by a platform image version ID (a disk's creationData.imageReference)."""
    parts = [p for p in str(image_id or "").split("/") if p]
    lowered = [p.lower() for p in parts]
    try:
        publisher = parts[lowered.index("publishers") + 1]
        offer = parts[lowered.index("offers") + 1]
        sku = parts[lowered.index("skus") + 1]
        version = parts[lowered.index("versions") + 1]
    except (ValueError, IndexError):
        return None
    image = find_image(publisher, offer, sku)
    return (image, version) if image and version in image.versions else None


@dataclass(frozen=True)
class ExtensionHandler:
    publisher: str
    type: str
    os_type: str
    versions: tuple[str, ...]

    @property
    def handler(self) -> str:
        return f"{self.publisher}.{self.type}"

    def supports(self, version: str) -> bool:
        """Azure matches a typeHandlerVersion of major.minor (or just major) against published versions."""
        return any(v == version or v.startswith(version + ".") for v in self.versions)


# published handler versions (major.minor.patch, oldest first)
EXTENSIONS = (
    ExtensionHandler("Microsoft.Azure.Extensions", "CustomScript", "Linux", ("2.0.7", "2.1.13")),
    ExtensionHandler("Microsoft.Compute", "CustomScriptExtension", "Windows", ("1.9.5", "1.10.18")),
    ExtensionHandler("Microsoft.OSTCExtensions", "VMAccessForLinux", "Linux", ("1.4.7", "1.5.18")),
    ExtensionHandler("Microsoft.Compute", "VMAccessAgent", "Windows", ("2.0.2", "2.4.10")),
    ExtensionHandler("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", "Linux", ("1.0.0", "1.33.2")),
    ExtensionHandler("Microsoft.Azure.Monitor", "AzureMonitorWindowsAgent", "Windows", ("1.0.0", "1.31.0")),
    ExtensionHandler("Microsoft.ManagedServices", "ApplicationHealthLinux", "Linux", ("1.0.26", "2.0.12")),
    ExtensionHandler("Microsoft.ManagedServices", "ApplicationHealthWindows", "Windows", ("1.0.26", "2.0.12")),
)


def find_extension(publisher: str | None, ext_type: str | None, os_type: str) -> ExtensionHandler | None:
    """Azure looks handlers up in the repository of the VM's OS, so a Linux handler on a
    Windows VM is not found."""
    want = (str(publisher).lower(), str(ext_type).lower(), os_type.lower())
    return next((e for e in EXTENSIONS if (e.publisher.lower(), e.type.lower(), e.os_type.lower()) == want), None)


# -- location endpoints ------------------------------------------------------------------

def vm_sizes_handler(ctx: Context, location: str, rest: list[str], query) -> dict:
    normalise_location(location)
    if rest:
        raise ArmError(404, "InvalidResourceType", "The resource type could not be found in the namespace 'Microsoft.Compute'.")
    return {"value": [size.body() for size in VM_SIZES.values()]}


def _image_not_found() -> ArmError:
    return ArmError(404, "NotFound", "Artifact: VMImage was not found.")


def _resource(ctx: Context, location: str, name: str, path: str) -> dict:
    return {"location": location, "name": name,
            "id": f"/Subscriptions/{ctx.subscription_id}/Providers/Microsoft.Compute/Locations/{location}/{path}"}


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _ordered(versions: list[str], query) -> list[str]:
    """$orderby=name [desc] and $top, as the versions list accepts them."""
    order = (query.get("$orderby") or "").lower()
    versions = sorted(versions, key=_version_key, reverse=order.endswith("desc"))
    top = query.get("$top")
    return versions[: int(top)] if top and str(top).isdigit() else versions


def publishers_handler(ctx: Context, location: str, rest: list[str], query):
    """publishers[/{p}/artifacttypes/vmimage/offers[/{o}/skus[/{s}/versions[/{v}]]]]"""
    location = normalise_location(location)
    if not rest:
        names = sorted({i.publisher for i in IMAGES} | {h.publisher for h in EXTENSIONS})
        return [_resource(ctx, location, p, f"Publishers/{p}") for p in names]
    segs = [s.lower() for s in rest]
    if len(rest) >= 3 and segs[1:3] == ["artifacttypes", "vmextension"]:
        return _extension_images(ctx, location, rest)
    if len(rest) < 4 or segs[1:4] != ["artifacttypes", "vmimage", "offers"]:
        raise _image_not_found()
    images = [i for i in IMAGES if i.publisher.lower() == segs[0]]
    if not images:
        raise _image_not_found()
    publisher = images[0].publisher
    base = f"Publishers/{publisher}/ArtifactTypes/VMImage/Offers"
    if len(rest) == 4:
        offers = sorted({i.offer for i in images})
        return [_resource(ctx, location, o, f"{base}/{o}") for o in offers]
    images = [i for i in images if i.offer.lower() == segs[4]]
    if not images or len(rest) < 6 or segs[5] != "skus":
        raise _image_not_found()
    base = f"{base}/{images[0].offer}/Skus"
    if len(rest) == 6:
        return [_resource(ctx, location, i.sku, f"{base}/{i.sku}") for i in images]
    image = next((i for i in images if i.sku.lower() == segs[6]), None)
    if image is None or len(rest) < 8 or segs[7] != "versions" or len(rest) > 9:
        raise _image_not_found()
    base = f"{base}/{image.sku}/Versions"
    if len(rest) == 8:
        return [_resource(ctx, location, v, f"{base}/{v}") for v in _ordered(list(image.versions), query)]
    version = image.resolve(rest[8])
    if version is None:
        raise _image_not_found()
    return _image_version_body(ctx, location, image, version, f"{base}/{version}")


def _extension_images(ctx: Context, location: str, rest: list[str]):
    """{p}/artifacttypes/vmextension/types[/{t}/versions[/{v}]] (az vm extension set finds the latest here)."""
    segs = [s.lower() for s in rest]
    handlers = [h for h in EXTENSIONS if h.publisher.lower() == segs[0]]
    if not handlers or len(rest) < 4 or segs[3] != "types":
        raise _image_not_found()
    base = f"Publishers/{handlers[0].publisher}/ArtifactTypes/VMExtension/Types"
    if len(rest) == 4:
        return [_resource(ctx, location, h.type, f"{base}/{h.type}") for h in handlers]
    handler = next((h for h in handlers if h.type.lower() == segs[4]), None)
    if handler is None or len(rest) < 6 or segs[5] != "versions" or len(rest) > 7:
        raise _image_not_found()
    base = f"{base}/{handler.type}/Versions"
    if len(rest) == 6:
        return [_resource(ctx, location, v, f"{base}/{v}") for v in handler.versions]
    if rest[6] not in handler.versions:
        raise _image_not_found()
    body = _resource(ctx, location, rest[6], f"{base}/{rest[6]}")
    body["properties"] = {"operatingSystem": handler.os_type, "computeRole": "IaaS", "handlerSchema": "",
                          "vmScaleSetEnabled": True, "supportsMultipleExtensions": False}
    return body


def _image_version_body(ctx: Context, location: str, image: Image, version: str, path: str) -> dict:
    body = _resource(ctx, location, version, path)
    body["properties"] = {
        "hyperVGeneration": image.generation,
        "architecture": "x64",
        "replicaType": "Unmanaged",
        "disallowed": {"vmDiskType": "None"},
        "automaticOSUpgradeProperties": {"automaticOSUpgradeSupported": image.os_type == "Windows"},
        "imageDeprecationStatus": {"imageState": "Active"},
        "features": [{"name": "IsAcceleratedNetworkSupported", "value": "True"},
                     {"name": "DiskControllerTypes", "value": "SCSI, NVMe"}],
        "osDiskImage": {"operatingSystem": image.os_type, "sizeInGb": image.disk_gb},
        "dataDiskImages": [],
    }
    return body


def usages_handler(ctx: Context, location: str, rest: list[str], query) -> dict:
    """Regional quota use: vCPUs of allocated VMs, VM and availability set counts."""
    location = normalise_location(location)
    vms = [vm for vm in vm_bodies(ctx) if vm.get("location") == location]
    cores = sum(size.cores for vm in vms if vm.get("_power") != "deallocated"
                and (size := find_size(vm["properties"]["hardwareProfile"]["vmSize"])))
    avsets = [b for _, b in ctx.list(AVSET_TYPE) if b.get("location") == location]

    def usage(name: str, display: str, current: int, limit: int) -> dict:
        return {"currentValue": current, "limit": limit, "name": {"value": name, "localizedValue": display}, "unit": "Count"}

    return {"value": [usage("cores", "Total Regional vCPUs", cores, 100),
                      usage("virtualMachines", "Virtual Machines", len(vms), 25000),
                      usage("availabilitySets", "Availability Sets", len(avsets), 2500)]}


def register_location_handlers(registry: Registry) -> None:
    registry.location_handlers[("microsoft.compute", "vmsizes")] = vm_sizes_handler
    registry.location_handlers[("microsoft.compute", "publishers")] = publishers_handler
    registry.location_handlers[("microsoft.compute", "usages")] = usages_handler

