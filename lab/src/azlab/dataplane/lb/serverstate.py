"""HAProxy's server-state file: what a new HAProxy process believes about each server.

HAProxy 2.6 starts every checked server UP and needs ``fall`` failed checks to take it out;
Azure sends nothing to a backend until its probe has passed. And a reload would forget
what the probes found, sending traffic to backends that are down. Both are solved here:
the manager dumps ``show servers state`` right before a reload and writes this file, which
the new process loads (``load-server-state-from-file global``):

- a server whose address, port and probe port are unchanged keeps its dumped state;
- any other checked server (new, moved, or leaving maintenance) is written DOWN with a
  fresh check, so it gets traffic only after its first successful probe;
- unchecked servers (NAT targets, adminState Up, rules without probe) are not written:
  HAProxy's default for them, UP, is right.

HAProxy matches lines by "backend server" names only (server_state.c), so synthesized
lines need no real IDs. Format: management guide, "show servers state", version 1.
"""

from __future__ import annotations

from typing import Iterable

from azlab.dataplane.lb.view import ServerRef

VERSION = "1"
COLUMNS = (
    "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
    "srv_check_port srv_check_addr srv_agent_addr srv_agent_port"
).split()

SRV_ST_STOPPED = 0
ADMF_CMAINT = 0x04  # in maintenance because the configuration says "disabled"
ADMF_ANY_MAINT = 0x01 | 0x02 | ADMF_CMAINT  # forced, inherited or configured maintenance
# HCHK_STATUS_INI: "initializing". 0 (UNKNOWN) made HAProxy 2.6.12 crash on its first check.
HCHK_STATUS_INI = 1
CHK_ST_CONFIGURED_ENABLED = 0x06

Row = dict[str, str]


def parse_dump(text: str) -> dict[tuple[str, str], Row]:
    """``show servers state`` output -> {(backend, server): {column: value}}."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != VERSION:
        return {}
    columns = COLUMNS
    rows: dict[tuple[str, str], Row] = {}
    for line in lines[1:]:
        if line.startswith("#"):
            columns = line[1:].split()
            continue
        row = dict(zip(columns, line.split()))
        rows[(row["be_name"], row["srv_name"])] = row
    return rows


def compose(dump: dict[tuple[str, str], Row],
            servers: Iterable[ServerRef]) -> tuple[str, dict[tuple[str, str], str]]:
    """The state file for a process serving ``servers``, and the servers that keep their
    state, with that state ("Up" or "Down")."""
    lines = [VERSION, "# " + " ".join(COLUMNS)]
    carried: dict[tuple[str, str], str] = {}
    for ref in servers:
        if ref.check_port is None:
            continue
        old = dump.get(ref.key)
        if old is not None and _same_server(old, ref):
            row = {**old, "srv_check_status": str(max(HCHK_STATUS_INI, int(old["srv_check_status"])))}
            carried[ref.key] = row_state(old)
        else:
            row = _fresh_down(ref)
        lines.append(" ".join(row.get(column, "-") for column in COLUMNS))
    return "\n".join(lines) + "\n", carried


def row_state(row: Row) -> str:
    """"Up" if the server takes new flows: operational and not in maintenance."""
    up = int(row["srv_op_state"]) != SRV_ST_STOPPED and not int(row["srv_admin_state"]) & ADMF_ANY_MAINT
    return "Up" if up else "Down"


def _same_server(old: Row, ref: ServerRef) -> bool:
    """Same endpoint and probe port, and not leaving maintenance (which must re-probe)."""
    leaving_maintenance = int(old["srv_admin_state"]) & ADMF_CMAINT and ref.admin_state != "Down"
    return (old["srv_addr"] == ref.ip and old["srv_port"] == str(ref.port)
            and old["srv_check_port"] == str(ref.check_port) and not leaving_maintenance)


def _fresh_down(ref: ServerRef) -> Row:
    """DOWN, health 0, check enabled and not yet run: one passing probe brings it UP."""
    return {
        "be_id": "0", "be_name": ref.backend, "srv_id": "0", "srv_name": ref.server, "srv_addr": ref.ip,
        "srv_op_state": str(SRV_ST_STOPPED), "srv_admin_state": "0", "srv_uweight": "1", "srv_iweight": "1",
        "srv_time_since_last_change": "0", "srv_check_status": str(HCHK_STATUS_INI), "srv_check_result": "0",
        "srv_check_health": "0", "srv_check_state": str(CHK_ST_CONFIGURED_ENABLED), "srv_agent_state": "0",
        "bk_f_forced_id": "0", "srv_f_forced_id": "0", "srv_fqdn": "-", "srv_port": str(ref.port),
        "srvrecord": "-", "srv_use_ssl": "0", "srv_check_port": str(ref.check_port), "srv_check_addr": "-",
        "srv_agent_addr": "-", "srv_agent_port": "0",
    }
