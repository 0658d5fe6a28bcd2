"""The guest OS identity a VM is created with (osProfile), checked by Azure's rules.

Azure never returns ``adminPassword`` or ``customData``. The lab keeps what the data plane
needs to provision the guest on the VM's OS disk (a guest identity travels with its disk,
so a VM recreated from the disk keeps it), and keeps the password only as a SHA-512 crypt
hash (``usermod -p`` accepts it), never in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets

from azlab.models.errors import invalid_parameter
from azlab.models.compute.common import property_change_not_allowed, required_parameter

DISALLOWED_USERNAMES = {
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
    "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
}
DISALLOWED_PASSWORDS = {
    "abc@123", "P@$$w0rd", "P@ssw0rd", "P@ssword123", "Pa$$word", "pass@word1", "Password!", "Password1",
    "Password22", "iloveyou!",
}
# (min, max) password length by OS, from the compute API reference
PASSWORD_LENGTH = {"Linux": (6, 72), "Windows": (8, 123)}
WINDOWS_NAME_CHARS = "`~!@#$%^&*()=+_[]{}\\|;:.'\",<>/?"
LINUX_NAME_CHARS = "`~!@#$%^&*()=+_[]{}\\|;:'\",<>/?"
WINDOWS_USER_CHARS = "\\/\"[]:|<>+=;,?*@"
MAX_CUSTOM_DATA = 87380
SSH_KEY_TYPES = ("ssh-rsa", "ssh-ed25519")


def check_computer_name(name: str, os_type: str) -> None:
    if os_type == "Windows":
        if len(name) > 15 or name.isdigit() or any(c in WINDOWS_NAME_CHARS for c in name):
            raise invalid_parameter("computerName", "Windows computer name cannot be more than 15 characters long, be "
                                    f"entirely numeric, or contain the following characters: {' '.join(WINDOWS_NAME_CHARS)}.")
    elif len(name) > 64 or any(c in LINUX_NAME_CHARS for c in name):
        raise invalid_parameter("computerName", "Linux host name cannot exceed 64 characters in length or contain "
                                f"the following characters: {' '.join(LINUX_NAME_CHARS)}.")


def check_admin_username(name, os_type: str) -> None:
    if not isinstance(name, str) or not name:
        raise required_parameter("adminUsername")
    if name.lower() in DISALLOWED_USERNAMES:
        raise invalid_parameter("adminUsername", "The Admin Username specified is not allowed.")
    if os_type == "Windows":
        if len(name) > 20 or name.endswith(".") or any(c in WINDOWS_USER_CHARS for c in name):
            raise invalid_parameter("adminUsername", "Windows admin user name cannot be more than 20 characters long, "
                                    f"end with a period(.), or contain the following characters: {' '.join(WINDOWS_USER_CHARS)}.")
    elif len(name) > 64 or not re.match(r"^[a-z_][a-z0-9_.-]*$", name, re.I):
        raise invalid_parameter("adminUsername", "Linux admin user name may only contain letters, digits, periods, "
                                "hyphens and underscores, may not start with a hyphen, period or digit, and cannot "
                                "exceed 64 characters.")


def check_password(password: str, os_type: str) -> None:
    """At least 3 of 4 character classes, Azure's length bounds, no well-known passwords."""
    low, high = PASSWORD_LENGTH[os_type]
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[\W_]"))
    if not low <= len(password) <= high or classes < 3 or any(ord(c) < 32 for c in password):
        raise invalid_parameter("adminPassword", f"The supplied password must be between {low}-{high} characters long "
                                "and must satisfy at least 3 of password complexity requirements from the following:\r\n"
                                "1) Contains an uppercase character\r\n2) Contains a lowercase character\r\n"
                                "3) Contains a numeric digit\r\n4) Contains a special character\r\n"
                                "5) Control characters are not allowed")
    if password in DISALLOWED_PASSWORDS:
        raise invalid_parameter("adminPassword", "The Admin password specified is not allowed.")


def check_ssh_keys(keys, username: str) -> list[dict]:
    """Azure installs keys only at the default path, and only keys it can parse."""
    if not isinstance(keys, list):
        raise invalid_parameter("linuxConfiguration.ssh.publicKeys", "The value of parameter linuxConfiguration.ssh.publicKeys is invalid.")
    default_path = f"/home/{username}/.ssh/authorized_keys"
    out = []
    for key in keys:
        key = key if isinstance(key, dict) else {}
        if key.get("path", default_path) != default_path:
            raise invalid_parameter("linuxConfiguration.ssh.publicKeys.path",
                                    f"Destination path for Ssh public keys is currently limited to its default value "
                                    f"{default_path}  due to a known issue in Linux provisioning agent.")
        if not _valid_public_key(key.get("keyData")):
            raise invalid_parameter("linuxConfiguration.ssh.publicKeys.keyData",
                                    "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.")
        out.append({"path": default_path, "keyData": key["keyData"]})
    return out


def _valid_public_key(text) -> bool:
    """An OpenSSH public key line whose blob names the same key type."""
    parts = text.split() if isinstance(text, str) else []
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    length = int.from_bytes(blob[:4], "big")
    return blob[4:4 + length] == parts[0].encode()


def check_custom_data(value) -> str:
    try:
        base64.b64decode(value, validate=True)
        valid = isinstance(value, str) and len(value) <= MAX_CUSTOM_DATA
    except (binascii.Error, ValueError, TypeError):
        valid = False
    if not valid:
        raise invalid_parameter("customData", "Custom data in OSProfile must be in Base64 encoding and with a "
                                f"maximum length of {MAX_CUSTOM_DATA} characters.")
    return value


def build_os_profile(vm_name: str, profile, os_type: str) -> tuple[dict, dict]:
    """(the osProfile Azure returns, the guest identity the lab keeps) for a VM created from an image."""
    if not isinstance(profile, dict):
        raise required_parameter("osProfile")
    computer_name = profile.get("computerName") or vm_name
    check_computer_name(computer_name, os_type)
    username = profile.get("adminUsername")
    check_admin_username(username, os_type)
    password = profile.get("adminPassword")
    if password is not None:
        check_password(str(password), os_type)
    public = {"computerName": computer_name, "adminUsername": username}
    guest = {"computerName": computer_name, "adminUsername": username, "osType": os_type,
             "passwordHash": sha512_crypt(str(password)) if password else None}
    if os_type == "Windows":
        if not password:
            raise required_parameter("adminPassword")
        public["windowsConfiguration"] = _windows_configuration(profile.get("windowsConfiguration"))
    else:
        public["linuxConfiguration"], guest["sshPublicKeys"] = _linux_configuration(
            profile.get("linuxConfiguration"), username, bool(password))
        guest["passwordAuthentication"] = not public["linuxConfiguration"]["disablePasswordAuthentication"]
    if profile.get("customData") is not None:
        guest["customData"] = check_custom_data(profile["customData"])
    public.update({"secrets": profile.get("secrets") or [], "allowExtensionOperations": True,
                   "requireGuestProvisionSignal": True})
    return public, guest


def _linux_configuration(config, username: str, has_password: bool) -> tuple[dict, list[dict]]:
    config = config if isinstance(config, dict) else {}
    disable_password = bool(config.get("disablePasswordAuthentication", False))
    keys = check_ssh_keys((config.get("ssh") or {}).get("publicKeys") or [], username)
    if disable_password and not keys:
        raise invalid_parameter("linuxConfiguration", "Authentication using either SSH or by user name and password "
                                "must be enabled in Linux profile.")
    if not disable_password and not has_password:
        raise required_parameter("adminPassword")
    out = {"disablePasswordAuthentication": disable_password,
           "provisionVMAgent": config.get("provisionVMAgent", True),
           "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"},
           "enableVMAgentPlatformUpdates": False}
    if keys:
        out["ssh"] = {"publicKeys": keys}
    return out, keys


def _windows_configuration(config) -> dict:
    config = config if isinstance(config, dict) else {}
    out = {"provisionVMAgent": config.get("provisionVMAgent", True),
           "enableAutomaticUpdates": config.get("enableAutomaticUpdates", True),
           "patchSettings": {"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"},
           "enableVMAgentPlatformUpdates": False}
    if config.get("winRM"):
        out["winRM"] = config["winRM"]
    if config.get("timeZone"):
        out["timeZone"] = config["timeZone"]
    return out


def check_os_profile_update(current: dict | None, requested, guest: dict) -> None:
    """osProfile cannot change after creation; a PUT may repeat it (without secrets)."""
    if requested is None:
        return
    if current is None:
        raise invalid_parameter("osProfile", "Parameter 'osProfile' is not allowed.")
    for prop in ("computerName", "adminUsername"):
        if requested.get(prop) is not None and requested[prop] != current.get(prop):
            raise property_change_not_allowed(prop)
    if requested.get("customData") is not None and requested["customData"] != guest.get("customData"):
        raise property_change_not_allowed("customData")
    linux_now, linux_req = current.get("linuxConfiguration"), requested.get("linuxConfiguration")
    if linux_now and isinstance(linux_req, dict):
        prop = "disablePasswordAuthentication"
        if prop in linux_req and bool(linux_req[prop]) != linux_now[prop]:
            raise property_change_not_allowed(f"linuxConfiguration.{prop}")
        keys = (linux_req.get("ssh") or {}).get("publicKeys")
        if keys is not None and [k.get("keyData") for k in keys] != [k["keyData"] for k in guest.get("sshPublicKeys", [])]:
            raise property_change_not_allowed("linuxConfiguration.ssh.publicKeys")


# -- SHA-512 crypt ($6$), as glibc's crypt(3) computes it -------------------------------------

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PERMUTATION = ((0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
                (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
                (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41))


def sha512_crypt(password: str, salt: str | None = None) -> str:
    """The ``$6$salt$hash`` form (5000 rounds) that /etc/shadow and ``usermod -p`` take."""
    pw = password.encode()
    salt = (salt or "".join(secrets.choice(_ITOA64) for _ in range(16)))[:16]
    sb = salt.encode()
    b = hashlib.sha512(pw + sb + pw).digest()
    a = hashlib.sha512(pw + sb)
    a.update(_repeat(b, len(pw)))
    n = len(pw)
    while n:
        a.update(b if n & 1 else pw)
        n >>= 1
    digest = a.digest()
    p = _repeat(hashlib.sha512(pw * len(pw)).digest(), len(pw))
    s = _repeat(hashlib.sha512(sb * (16 + digest[0])).digest(), len(sb))
    for i in range(5000):
        c = hashlib.sha512(p if i % 2 else digest)
        if i % 3:
            c.update(s)
        if i % 7:
            c.update(p)
        c.update(digest if i % 2 else p)
        digest = c.digest()
    encoded = "".join(_b64_24(digest[x], digest[y], digest[z], 4) for x, y, z in _PERMUTATION)
    return f"$6${salt}${encoded}{_b64_24(0, 0, digest[63], 2)}"


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def _b64_24(b2: int, b1: int, b0: int, count: int) -> str:
    word = (b2 << 16) | (b1 << 8) | b0
    out = ""
    for _ in range(count):
        out += _ITOA64[word & 0x3F]
        word >>= 6
    return out
