"""The Linux Custom Script handler's rules (pure)."""

from __future__ import annotations

import base64
import gzip

import pytest

from azlab.models.compute.custom_script import MAX_TAIL, HandlerConfigError, parse_settings, status_message


def test_a_command_from_protected_settings_with_public_file_uris():
    run = parse_settings({"fileUris": ["https://example.com/a.sh"]}, {"commandToExecute": "sh a.sh"})
    assert (run.command, run.script, run.file_uris) == ("sh a.sh", None, ("https://example.com/a.sh",))


def test_a_script_is_base64_and_may_be_gzipped():
    plain = parse_settings({"script": base64.b64encode(b"echo hi\n").decode()}, None)
    zipped = parse_settings(None, {"script": base64.b64encode(gzip.compress(b"echo hi\n")).decode()})
    assert plain.script == zipped.script == b"echo hi\n" and plain.command is None


@pytest.mark.parametrize(("public", "protected", "rule"), [
    ({"fileUris": ["u"]}, {"fileUris": ["u"]}, "'fileUris' was specified both in public and protected settings"),
    ({"commandToExecute": "a", "script": "YQ=="}, None, "only one is validate at a time"),
    ({"timestamp": 1}, {}, "either 'script' or 'commandToExecute' must be specified"),
    ({"commandToExecute": "a", "storageAccountName": "x"}, None, "both 'storageAccountName' and 'storageAccountKey'"),
    ({"commandToExecute": "a", "fileUris": "https://x"}, None, "'fileUris' must be a list of URLs"),
    ({"commandToExecute": ["a"]}, None, "'commandToExecute' must be a string"),
    ({"script": base64.b64encode(b"\x1f\x8bnot gzip").decode()}, None, "cannot be inflated"),
])
def test_settings_the_handler_refuses(public, protected, rule):
    with pytest.raises(HandlerConfigError, match=rule):
        parse_settings(public, protected)


def test_status_messages_keep_the_last_4_kib_of_each_stream():
    long = b"x" * (MAX_TAIL + 10) + b"END"
    message = status_message(0, long, b"warn\n")
    assert message.startswith("Enable succeeded: \n[stdout]\n") and message.endswith("END\n[stderr]\nwarn\n")
    assert len(message.split("\n[stderr]\n")[0]) == len("Enable succeeded: \n[stdout]\n") + MAX_TAIL
    assert status_message(127, b"", b"/bin/sh: 1: ech: not found\n") == (
        "Enable failed: failed to execute command: command terminated with exit status=127\n[stdout]\n\n[stderr]\n"
        "/bin/sh: 1: ech: not found\n")
