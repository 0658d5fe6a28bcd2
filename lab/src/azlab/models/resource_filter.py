"""``$filter`` of Resources - List (GET /subscriptions/{s}[/resourceGroups/{rg}]/resources), no I/O.

The grammar Azure documents: ``<property> eq|ne '<value>'`` for location, resourceType,
name and resourceGroup; ``substringof('<value>', name|resourceGroup)``; tags as
``tagName eq '<k>' [and tagValue eq '<v>']`` or ``startswith(tagName, '<prefix>')``;
terms joined by ``and`` / ``or`` (``and`` binds first). Names compare case-insensitively,
as ARM does. Anything else is refused naming the part that is not understood: a filter
that is ignored would list what the caller did not ask for (and a script may delete it).
"""

from __future__ import annotations

import re
from typing import Callable

from azlab.models.errors import ArmError

FIELDS = ("location", "resourcetype", "name", "resourcegroup", "tagname", "tagvalue")
_QUOTED = r"'((?:[^']|'')*)'"
_TERM = re.compile(
    rf"\s*(?:(?P<field>[A-Za-z]+)\s+(?P<op>eq|ne)\s+{_QUOTED}"
    rf"|substringof\(\s*{_QUOTED}\s*,\s*(?P<subfield>[A-Za-z]+)\s*\)"
    rf"|startswith\(\s*(?P<swfield>[A-Za-z]+)\s*,\s*{_QUOTED}\s*\))\s*", re.I)
_JOIN = re.compile(r"(and|or)\b", re.I)

Predicate = Callable[[dict], bool]


def invalid(expression: str, detail: str) -> ArmError:
    return ArmError(400, "InvalidFilterInQueryString", f"The $filter '{expression}' is not supported: {detail}. "
                    "Supported: location, resourceType, name, resourceGroup with eq/ne, substringof() on name and "
                    "resourceGroup, tagName/tagValue eq, startswith(tagName, ...), joined by and/or.",
                    target="$filter")


def _resource_group(body: dict) -> str:
    parts = body.get("id", "").split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""


def _value(body: dict, field: str) -> str:
    return {"location": body.get("location", ""), "resourcetype": body.get("type", ""), "name": body.get("name", ""),
            "resourcegroup": _resource_group(body)}[field]


def _term(match: re.Match, expression: str) -> tuple[str, str, str]:
    """(field, operator, value) of one term, lower-cased field."""
    if match.group("field"):
        field, op, value = match.group("field").lower(), match.group("op").lower(), match.group(3)
    elif match.group("subfield"):
        field, op, value = match.group("subfield").lower(), "substringof", match.group(4)
        if field not in ("name", "resourcegroup"):
            raise invalid(expression, f"substringof() takes name or resourceGroup, not '{match.group('subfield')}'")
    else:
        field, op, value = match.group("swfield").lower(), "startswith", match.group(7)
        if field != "tagname":
            raise invalid(expression, f"startswith() takes tagName, not '{match.group('swfield')}'")
    if field not in FIELDS:
        raise invalid(expression, f"'{field}' is not a property the filter knows")
    return field, op, value.replace("''", "'")


def _all_of(terms: list[tuple[str, str, str]]) -> Predicate:
    tag_name = next((v for f, op, v in terms if f == "tagname" and op == "eq"), None)

    def test(body: dict) -> bool:
        tags = {k.lower(): v for k, v in (body.get("tags") or {}).items()}
        for field, op, value in terms:
            if field == "tagname":
                ok = (value.lower() in tags) if op == "eq" else (
                    any(k.startswith(value.lower()) for k in tags) if op == "startswith" else value.lower() not in tags)
            elif field == "tagvalue":
                actual = tags.get(tag_name.lower()) if tag_name else None
                ok = (actual == value) if op == "eq" else (actual != value)
            elif op == "substringof":
                ok = value.lower() in _value(body, field).lower()
            else:
                ok = (_value(body, field).lower() == value.lower()) == (op == "eq")
            if not ok:
                return False
        return True

    return test


def parse(expression: str) -> Predicate:
    """A predicate over stored bodies; ArmError 400 for what the grammar does not allow."""
    groups: list[list[tuple[str, str, str]]] = [[]]
    position = 0
    while True:
        match = _TERM.match(expression, position)
        if not match:
            raise invalid(expression, f"cannot read '{expression[position:].strip()[:40]}'")
        groups[-1].append(_term(match, expression))
        position = match.end()
        if position >= len(expression):
            break
        join = _JOIN.match(expression, position)
        if not join:
            raise invalid(expression, f"expected 'and' or 'or' before '{expression[position:].strip()[:40]}'")
        if join.group(1).lower() == "or":
            groups.append([])
        position = join.end()
    for group in groups:
        if any(f == "tagvalue" for f, _, _ in group) and not any(f == "tagname" for f, _, _ in group):
            raise invalid(expression, "tagValue needs a tagName in the same 'and' group")
    tests = [_all_of(group) for group in groups]
    return lambda body: any(test(body) for test in tests)
