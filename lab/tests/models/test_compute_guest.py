"""Unit tests of the guest identity rules and the SHA-512 crypt the lab stores passwords as."""

from __future__ import annotations

import base64
import warnings

import pytest

from azlab.models.compute.guest import build_os_profile, check_password, sha512_crypt
from azlab.models.errors import ArmError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    crypt = pytest.importorskip("crypt")  # gone in Python 3.13; the reference while it exists


@pytest.mark.parametrize("password", ["a", "Secret-Passw0rd!", "x" * 70, "ünïcødé pass 123", "p" * 200])
@pytest.mark.parametrize("salt", ["saltstring", "abcdefghijklmnop", "ab"])
def test_sha512_crypt_matches_glibc(password, salt):
    assert sha512_crypt(password, salt) == crypt.crypt(password, f"$6${salt}")


def test_sha512_crypt_salts_each_hash():
    first, second = sha512_crypt("Secret-Passw0rd!"), sha512_crypt("Secret-Passw0rd!")
    assert first != second and first.startswith("$6$") and crypt.crypt("Secret-Passw0rd!", first) == first


@pytest.mark.parametrize("password, os_type, ok", [
    ("Abc12!", "Linux", True),        # Linux minimum 6
    ("Abc12!", "Windows", False),     # Windows minimum 8
    ("abcdefgh1", "Windows", False),  # two classes
    ("abcdefgh1!", "Windows", True),  # three classes
    ("Password1", "Windows", False),  # a disallowed value
    ("Ab1!" * 19, "Linux", False),    # 76 > 72
    ("Ab1!" * 30, "Windows", True),   # 120 <= 123
    ("Ab1!\x07xyz", "Linux", False),  # control character
])
def test_password_rules(password, os_type, ok):
    if ok:
        check_password(password, os_type)
    else:
        with pytest.raises(ArmError) as raised:
            check_password(password, os_type)
        assert raised.value.target == "adminPassword"


def test_linux_profile_keeps_secrets_out_of_the_public_profile():
    key = "ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + b"\x01" * 32).decode()
    public, guest = build_os_profile("vm1", {
        "adminUsername": "azureuser", "adminPassword": "Linux-pass1", "customData": "aGk=",
        "linuxConfiguration": {"ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": key}]}},
    }, "Linux")
    assert "adminPassword" not in public and "customData" not in public
    assert public["linuxConfiguration"]["disablePasswordAuthentication"] is False
    assert guest["passwordAuthentication"] is True and guest["customData"] == "aGk="
    assert crypt.crypt("Linux-pass1", guest["passwordHash"]) == guest["passwordHash"]


def test_key_blob_must_name_its_type():
    mismatched = "ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + b"\x01" * 32).decode()
    with pytest.raises(ArmError) as raised:
        build_os_profile("vm1", {"adminUsername": "azureuser", "linuxConfiguration": {
            "disablePasswordAuthentication": True, "ssh": {"publicKeys": [{"keyData": mismatched}]}}}, "Linux")
    assert raised.value.target == "linuxConfiguration.ssh.publicKeys.keyData"
