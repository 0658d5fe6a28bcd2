"""``azlab``: run the local Azure lab and look inside it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time

from azlab.client import AdminClient, LabNotRunning, client_environment, load_runtime, runtime_file
from azlab.settings import LabSettings

START_TIMEOUT = 20


def _settings() -> LabSettings:
    return LabSettings()


def env_lines(settings: LabSettings) -> list[str]:
    return [f"export {key}={shlex.quote(value)}" for key, value in client_environment(settings).items()]


# -- commands -------------------------------------------------------------------------


def cmd_serve(args) -> int:
    from azlab.server import LabServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings()
    server = LabServer(settings, dataplane=not args.no_dataplane)
    server.start()
    runtime_file(settings).write_text(json.dumps({"pid": os.getpid(), "arm_port": settings.arm_port, "proxy_port": settings.proxy_port}))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    while not stopping:
        time.sleep(0.2)
    server.stop()
    runtime_file(settings).unlink(missing_ok=True)
    return 0


def _running_pid(settings: LabSettings) -> int | None:
    path = runtime_file(settings)
    if not path.exists():
        return None
    pid = json.loads(path.read_text()).get("pid")
    try:
        os.kill(pid, 0)
    except (OSError, TypeError):
        path.unlink(missing_ok=True)
        return None
    return pid


def cmd_up(args) -> int:
    settings = _settings()
    settings.ensure_state_dir()
    if _running_pid(settings):
        print(f"azlab: already running (state in {settings.state_dir})")
        return 0
    with open(settings.log_path, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "azlab", "serve"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=dict(os.environ, AZLAB_STATE_DIR=str(settings.state_dir)))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if runtime_file(settings).exists() and AdminClient(_settings()).alive():
            settings = load_runtime(settings)
            print(f"azlab: up — ARM on https://127.0.0.1:{settings.arm_port}, proxy {settings.proxy_url}, state {settings.state_dir}")
            print("azlab: point Azure clients at it with: eval \"$(azlab env)\"")
            return 0
        time.sleep(0.2)
    print(f"azlab: did not start within {START_TIMEOUT}s; see {settings.log_path}", file=sys.stderr)
    return 1


def cmd_down(args) -> int:
    settings = _settings()
    pid = _running_pid(settings)
    if not pid:
        print("azlab: not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(600):  # the data plane stops the VM containers (up to 10 s each, in parallel)
        if _running_pid(settings) is None:
            break
        time.sleep(0.1)
    print("azlab: down (state kept; 'azlab up' brings it back)")
    return 0


def cmd_env(args) -> int:
    settings = _settings()
    if not settings.ca_cert_path.exists():
        print("azlab: the lab has never run here; run 'azlab up' first", file=sys.stderr)
        return 1
    print("\n".join(env_lines(settings)))
    return 0


def cmd_reset(args) -> int:
    settings = _settings()
    client = AdminClient(settings)
    if client.alive():
        client.call("POST", "reset")
    else:
        from azlab.dataplane.objects import purge
        from azlab.models.store import Store

        Store(settings.db_path).clear()
        purge(settings.state_dir)
    print("azlab: every lab resource removed (identity and CA kept)")
    return 0


def cmd_status(args) -> int:
    client = AdminClient(_settings())
    status = client.call("GET", "status")
    rows = status["resources"]
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"profile: {status['profile']['name']} (x{status['profile']['factor']})")
    print_dataplane(status["dataplane"])
    if not rows:
        print("no resources")
        return 0
    headers = ("RESOURCE GROUP", "TYPE", "NAME", "STATE", "DETAIL")
    table = [(r["resource_group"], r["type"], r["name"], r["state"], r["detail"]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table)]
    for row in (headers, *table):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def print_dataplane(dataplane: dict) -> None:
    if not dataplane["enabled"]:
        print(f"data plane: off ({dataplane['reason']}); control plane only")
        return
    print("data plane: on")
    for vm_id, what in dataplane["vms"].items():
        print(f"  VM {vm_id.rsplit('/', 1)[1]}: {what}")
    for lb_id, lb in dataplane["load_balancers"].items():
        print(f"  LB {lb_id.rsplit('/', 1)[1]}: HAProxy {lb['haproxy']}"
              + "".join(f"\n    {backend}: {state}" for backend, state in lb["health"].items())
              + "".join(f"\n    warning: {w}" for w in lb["warnings"]))
    for setting_id, seen in dataplane["autoscale"]["settings"].items():
        print(f"  autoscale {setting_id.rsplit('/', 1)[1]}: profile {seen['profile']}, {seen['capacity']} instances, "
              f"rule metrics {seen['metrics']}")
    for action in dataplane["autoscale"]["history"]:
        print(f"    {action['time']} {action['scale_set'].rsplit('/', 1)[1]} {action['from']} -> {action['to']} "
              f"({action['reason']}): {action['outcome']}")
    for kind, vms in dataplane["faults"].items():
        for vm in vms:
            print(f"  fault {kind}: {vm}")
    for message in dataplane["errors"].values():
        print(f"  error: {message}")


def cmd_log(args) -> int:
    client = AdminClient(_settings())
    if args.mark:
        print(client.call("GET", "mark")["mark"])
        return 0
    answer = client.call("GET", f"log?since={args.since}&writes={1 if args.writes else 0}")
    if args.json:
        print(json.dumps(answer["requests"], indent=2))
        return 0
    for r in answer["requests"]:
        stamp = time.strftime("%H:%M:%S", time.localtime(r["ts"]))
        print(f"{r['seq']:>6} {stamp} {r['method']:<6} {r['status']} {r['duration_ms']:>8.1f}ms {r['path']} {r['api_version'] or ''}")
    return 0


def cmd_fault(args) -> int:
    client = AdminClient(_settings())
    if args.fault_command == "clear":
        client.call("DELETE", "faults")
    elif args.fault_command in ("probe", "boot", "kill"):
        client.call("POST", "dataplane/faults", {"kind": args.fault_command, "vm": _vm_id(client, args.vm)})
        print(json.dumps(client.call("GET", "dataplane/faults")["faults"], indent=2))
        return 0
    elif args.fault_command == "arm":
        client.call("POST", "faults", {"status": args.status, "count": args.count, "method": args.method,
                                         "path": args.path, "retry_after": args.retry_after})
    print(json.dumps(client.call("GET", "faults")["faults"], indent=2))
    return 0


def _vm_id(client: AdminClient, vm: str) -> str:
    """A VM's resource ID, or its name when exactly one VM has it."""
    if vm.startswith("/subscriptions/"):
        return vm
    ids = [row["key"] for row in client.call("GET", "status")["resources"]
           if row["type"].lower() == "microsoft.compute/virtualmachines" and row["name"].lower() == vm.lower()]
    if len(ids) != 1:
        raise SystemExit(f"azlab: {len(ids)} VMs are named {vm!r}; pass the VM's resource ID")
    return ids[0]


def cmd_latency(args) -> int:
    client = AdminClient(_settings())
    if args.profile:
        answer = client.call("PUT", "profile", {"name": args.profile, "factor": args.factor})
    else:
        answer = client.call("GET", "profile")
    print(f"{answer['name']} (x{answer['factor']})")
    return 0


def cmd_load(args) -> int:
    from azlab.loadgen import LoadConfig, LoadGenerator

    try:
        config = LoadConfig(url=args.url, rate=args.rate, clients=args.clients, duration=args.duration,
                            stop_file=args.stop_file, keep_alive=args.keep_alive, timeout=args.timeout,
                            capture_header=args.capture_header, capture_regex=args.capture_regex, jsonl=args.jsonl,
                            insecure=args.insecure)
    except ValueError as exc:
        print(f"azlab load: {exc}", file=sys.stderr)
        return 2
    summary = LoadGenerator(config).run(handle_signals=True)
    text = json.dumps(summary, indent=2)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="azlab", description="Local Azure lab: ARM endpoint, VMs and load balancers on this machine.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the lab in the foreground")
    serve.add_argument("--no-dataplane", action="store_true",
                       help="control plane only: no containers, no HAProxy")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("up", help="start the lab in the background").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the lab, keep its state").set_defaults(func=cmd_down)
    sub.add_parser("reset", help="remove every lab resource").set_defaults(func=cmd_reset)
    sub.add_parser("env", help="print export lines pointing Azure clients at the lab").set_defaults(func=cmd_env)
    status = sub.add_parser("status", help="what exists in the lab")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    log = sub.add_parser("log", help="the lab's request log")
    log.add_argument("--since", type=int, default=0, help="only requests after this mark")
    log.add_argument("--writes", action="store_true", help="only PUT/PATCH/DELETE/POST actions")
    log.add_argument("--mark", action="store_true", help="print the current mark and exit")
    log.add_argument("--json", action="store_true")
    log.set_defaults(func=cmd_log)
    fault = sub.add_parser("fault", help="inject control-plane and data-plane faults")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True)
    arm = fault_sub.add_parser("arm", help="the next COUNT matching ARM requests fail")
    arm.add_argument("--status", type=int, default=429, choices=(429, 500, 502, 503, 504))
    arm.add_argument("--count", type=int, default=1)
    arm.add_argument("--method", default="*")
    arm.add_argument("--path", default=".*", help="regular expression matched against the request path")
    arm.add_argument("--retry-after", type=int, default=1)
    for kind, text in (("probe", "the VM's LB probes fail (as if it stopped answering them)"),
                       ("boot", "the VM's next start or reboot does not come back"),
                       ("kill", "kill the VM's container; it stays down until cleared or started via ARM")):
        vm_fault = fault_sub.add_parser(kind, help=text)
        vm_fault.add_argument("vm", help="VM name (if unique) or resource ID")
    fault_sub.add_parser("clear", help="remove every injected fault")
    fault_sub.add_parser("list", help="show injected faults")
    fault.set_defaults(func=cmd_fault)
    latency = sub.add_parser("latency", help="show or set the latency profile")
    latency.add_argument("profile", nargs="?", choices=("instant", "realistic"))
    latency.add_argument("--factor", type=float, default=1.0, help="scale realistic durations")
    latency.set_defaults(func=cmd_latency)
    load = sub.add_parser("load", help="send HTTP GETs at a steady rate and record every request (load generator)")
    load.add_argument("url", help="http:// or https:// URL to GET, e.g. the LB's public IP")
    load.add_argument("--rate", type=float, default=50.0, help="requests per second in all (default 50)")
    load.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    load.add_argument("--duration", type=float, help="seconds to run (default: until SIGTERM/SIGINT or --stop-file)")
    load.add_argument("--stop-file", help="stop once this file exists (checked every 0.1 s)")
    load.add_argument("--keep-alive", action="store_true", help="reuse one connection per client (default: a new "
                      "TCP connection per request)")
    load.add_argument("--timeout", type=float, default=5.0, help="connect and read timeout per request, seconds")
    capture = load.add_mutually_exclusive_group()
    capture.add_argument("--capture-header", help="record this response header (e.g. X-Served-By)")
    capture.add_argument("--capture-regex", help="record this regular expression's first group (else its match) "
                         "in the body")
    load.add_argument("--jsonl", help="write one JSON line per request to this file")
    load.add_argument("--summary", help="also write the summary JSON to this file")
    load.add_argument("--insecure", action="store_true", help="https: do not verify the certificate")
    load.set_defaults(func=cmd_load)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabNotRunning as exc:
        print(f"azlab: {exc}", file=sys.stderr)
        return 1
