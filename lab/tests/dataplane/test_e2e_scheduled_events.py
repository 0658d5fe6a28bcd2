"""End to end: the Instance Metadata Service in the guests, and a scale set's terminate
notification (Scheduled Events) holding a scale-in until the instance approves or the
timeout ends.

The Azure SDK builds a tier (NSG, VNet, LB with an HTTP probe, scale set of 2, Manual
upgrades) whose model enables ``terminateNotificationProfile`` (PT5M; an Azure minute lasts
2 s here, ``LabSettings.seconds_per_minute``). Every request is made from inside the guests
(``python3`` and ``urllib``, as a guest agent or a drain script does), and every answer is
checked against the machine: the instance waiting to go still runs and still serves through
the LB, until its own approval (or the timeout) ends it and its container.

Run it alone under the lab lock: ``flock /tmp/webfarm-lab.lock pytest tests/dataplane/test_e2e_scheduled_events.py``.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from polling import wait_for
from scale_set_tier import Tier, hostnames_through, runs

pytestmark = pytest.mark.dataplane

SECONDS_PER_MINUTE = 2
EVENTS = "http://169.254.169.254/metadata/scheduledevents?api-version=2020-07-01"
NAME = "http://169.254.169.254/metadata/instance/compute/name?api-version=2021-02-01&format=text"
IMDS_CLIENT = """
import json, sys, urllib.error, urllib.request
url, method, body, header = sys.argv[1], sys.argv[2], sys.argv[3].encode() or None, sys.argv[4] == "yes"
request = urllib.request.Request(url, data=body, method=method, headers={"Metadata": "true"} if header else {})
try:
    with urllib.request.urlopen(request, timeout=10) as reply:
        print(json.dumps({"status": reply.status, "body": reply.read().decode()}))
except urllib.error.HTTPError as exc:
    print(json.dumps({"status": exc.code, "body": exc.read().decode()}))
"""


def imds(vm_id: str, url: str, method: str = "GET", body: str = "", header: bool = True) -> dict:
    """One request to the Instance Metadata Service from inside the guest: {status, body}."""
    run = subprocess.run(["podman", "exec", container_name(vm_id), "python3", "-c", IMDS_CLIENT, url, method, body,
                          "yes" if header else "no"], env=podman.podman_env(), capture_output=True, text=True,
                         timeout=30, check=True)
    return json.loads(run.stdout)


def events(vm_id: str) -> dict:
    answer = imds(vm_id, EVENTS)
    assert answer["status"] == 200, answer
    return json.loads(answer["body"])


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    tier = Tier(clients, dataplane_server.lab, "dp-events-rg", "10.83", tmp_path_factory.mktemp("events-ssh"))
    tier.build_network()
    patch = pytest.MonkeyPatch()
    patch.setattr(dataplane_server.settings, "seconds_per_minute", SECONDS_PER_MINUTE)
    body = tier.set_body(2, {"mode": "Manual"}, overprovision=False)
    body["properties"]["virtualMachineProfile"]["scheduledEventsProfile"] = {
        "terminateNotificationProfile": {"enable": True, "notBeforeTimeout": "PT5M"}}
    tier.put_set(body)
    yield tier
    patch.undo()
    tier.delete_set()


def scale(tier: Tier, capacity: int):
    """PATCH the capacity; the poller of the operation (a scale-in waits for its Terminate events)."""
    return tier.cm.virtual_machine_scale_sets.begin_update(tier.rg, "web", {"sku": {"capacity": capacity}})


def test_imds_tells_each_instance_who_it_is_and_refuses_what_azure_refuses(tier):
    first, second = tier.instance_ids()
    assert wait_for(lambda: hostnames_through(tier.address) == {"web000000 v1", "web000001 v1"}, timeout=180, step=1)
    assert imds(first, NAME) == {"status": 200, "body": "web_0"}
    assert imds(second, NAME) == {"status": 200, "body": "web_1"}
    compute = json.loads(imds(second, NAME.replace("/name", "").replace("&format=text", ""))["body"])
    assert compute["vmScaleSetName"] == "web" and compute["resourceId"] == second
    no_header = imds(first, NAME, header=False)
    assert no_header["status"] == 400 and "metadata header" in no_header["body"]
    no_version = imds(first, EVENTS.split("?")[0])
    assert no_version["status"] == 400 and "api-version" in no_version["body"]
    assert events(first) == {"DocumentIncarnation": 0, "Events": []}


def test_scale_in_waits_for_the_instance_to_approve_its_terminate_event(tier):
    first, second = tier.instance_ids()
    poller = scale(tier, 1)
    assert wait_for(lambda: events(second)["Events"], timeout=30, step=0.5), "no Terminate event was posted"
    document = events(second)
    [event] = document["Events"]
    assert (event["EventType"], event["Resources"], event["EventStatus"]) == ("Terminate", ["web_1"], "Scheduled")
    assert events(first)["Events"] == [event], "the whole set sees the event"
    instance = tier.cm.virtual_machine_scale_sets.get(tier.rg, "web")
    assert instance.sku.capacity == 1
    states = {vm.instance_id: vm.provisioning_state for vm in tier.cm.virtual_machine_scale_set_vms.list(tier.rg, "web")}
    assert states == {"0": "Succeeded", "1": "Deleting"}
    # the instance still runs and serves until it lets go: the time it has to drain
    assert runs(second) and "web000001 v1" in hostnames_through(tier.address, 12)
    assert not poller.done(), "the scale-in ends when its instance is deleted"
    start = json.dumps({"StartRequests": [{"EventId": event["EventId"]}]})
    assert imds(first, EVENTS, "POST", start)["status"] == 200
    time.sleep(2 * SECONDS_PER_MINUTE / 2)
    assert runs(second) and events(second)["Events"][0]["EventStatus"] == "Scheduled", \
        "only the VM an event names may approve it"
    assert imds(second, EVENTS, "POST", start)["status"] == 200
    poller.result(timeout=60)
    assert wait_for(lambda: not runs(second), timeout=30, step=0.5), "the approved instance's container still runs"
    assert tier.instance_ids() == [first]
    assert events(first)["Events"] == [] and events(first)["DocumentIncarnation"] > document["DocumentIncarnation"]


def test_an_unapproved_terminate_event_ends_at_its_not_before_time(tier):
    scale(tier, 2).result(timeout=180)
    [_, third] = tier.instance_ids()
    started = time.monotonic()
    poller = scale(tier, 1)
    assert wait_for(lambda: events(third)["Events"], timeout=30, step=0.5)
    poller.result(timeout=60)
    waited = time.monotonic() - started
    assert not runs(third) or wait_for(lambda: not runs(third), timeout=30, step=0.5)
    # notBeforeTimeout PT5M: 5 lab minutes of 2 s
    assert waited >= 5 * SECONDS_PER_MINUTE - 1, f"deleted after {waited:.1f} s, before its NotBefore time"
