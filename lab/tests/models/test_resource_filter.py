"""Resources - List $filter (pure)."""

from __future__ import annotations

import pytest

from azlab.models.errors import ArmError
from azlab.models.resource_filter import parse

SUB = "/subscriptions/s/resourceGroups"
WEB = {"id": f"{SUB}/App-RG/providers/Microsoft.Compute/virtualMachines/web1", "name": "web1",
       "type": "Microsoft.Compute/virtualMachines", "location": "eastus", "tags": {"Env": "prod"}}
DB = {"id": f"{SUB}/data-rg/providers/Microsoft.Network/networkInterfaces/db-nic", "name": "db-nic",
      "type": "Microsoft.Network/networkInterfaces", "location": "westeurope", "tags": {}}


@pytest.mark.parametrize(("expression", "matches"), [
    ("resourceGroup eq 'app-rg'", ["web1"]),
    ("resourceGroup ne 'app-rg'", ["db-nic"]),
    ("resourceType eq 'Microsoft.Network/networkInterfaces'", ["db-nic"]),
    ("location eq 'eastus' and name eq 'web1'", ["web1"]),
    ("substringof('nic', name) or substringof('APP', resourceGroup)", ["web1", "db-nic"]),
    ("tagName eq 'env' and tagValue eq 'prod'", ["web1"]),
    ("tagName eq 'env' and tagValue eq 'dev'", []),
    ("startswith(tagName, 'En')", ["web1"]),
    ("name eq 'it''s'", []),
])
def test_filters_select_what_they_name(expression, matches):
    wanted = parse(expression)
    assert [body["name"] for body in (WEB, DB) if wanted(body)] == matches


@pytest.mark.parametrize(("expression", "names"), [
    ("colour eq 'red'", "'colour' is not a property"),
    ("name eq web1", "cannot read"),
    ("name eq 'a' nand location eq 'b'", "expected 'and' or 'or'"),
    ("substringof('a', location)", "substringof() takes name or resourceGroup"),
    ("tagValue eq 'prod'", "tagValue needs a tagName"),
])
def test_what_the_grammar_does_not_allow_is_refused(expression, names):
    with pytest.raises(ArmError) as refused:
        parse(expression)
    assert refused.value.status == 400 and names in refused.value.message
