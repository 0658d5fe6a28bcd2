"""The AWX configuration as code (playbooks/awx/): no controller runs here, so what can be
checked for real is checked:
- every survey question names a variable of the roles the job template's playbook runs
  (their meta/argument_specs.yml), with the same type, choices and required flag;
- every default and every choice, as AWX sends it (integer -> int, the rest strings),
  passes the role's argument spec (ansible's ArgumentSpecValidator, which the roles'
  validate_argument_spec uses), the defaults all together too;
- the playbook passes --syntax-check and every option of every awx.awx module it uses
  exists in the installed awx.awx (the `ansible` package's), with an allowed value
  where the option has choices.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO_ROOT = Path(__file__).resolve().parents[3]
AWX_DIR = REPO_ROOT / "playbooks" / "awx"
BIN = Path(sys.executable).parent
# the roles each job template's playbook validates its variables with
ROLES = {
    "site.yml": [("preflight", "main"), ("verify", "main")],
    "playbooks/verify.yml": [("preflight", "main"), ("verify", "main")],
    "playbooks/rolling_patch.yml": [("preflight", "main"), ("rolling_patch", "main")],
    "playbooks/teardown.yml": [("preflight", "main")],
}
# variables of a playbook itself, not of a role
PLAYBOOK_VARS = {"webfarm_teardown_confirm"}
# what the inventory "webfarm" gives every job (configure.yml's default for a user's value)
INVENTORY_VARS = {"webfarm_admin_source_prefixes": ["203.0.113.0/24"]}
SURVEY_TYPES = {"str": {"text", "textarea", "password", "multiplechoice"}, "int": {"integer"},
                "bool": {"multiplechoice"}, "path": {"text"}}


def _vars() -> dict:
    return yaml.safe_load((AWX_DIR / "vars" / "job_templates.yml").read_text())


def job_templates() -> list[dict]:
    """The job templates with their questions resolved (the lists are joined with `+`)."""
    data = _vars()
    out = []
    for template in data["webfarm_awx_job_templates"]:
        names = [part.strip() for part in template["questions"].strip("{} ").split("+")]
        out.append({**template, "questions": [q for name in names for q in data[name]]})
    return out


def role_options(playbook: str) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for role, entry in ROLES[playbook]:
        spec = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options.update(spec["argument_specs"][entry]["options"])
    return options


def as_awx_sends(question: dict, value):
    return int(value) if question["type"] == "integer" else str(value)


def validate(options: dict[str, dict], params: dict) -> list[str]:
    # the spec's descriptions are documentation only; templated defaults are not values
    spec = {name: {k: v for k, v in option.items() if k not in ("description", "default")}
            for name, option in options.items()}
    result = ArgumentSpecValidator(spec).validate(params)
    return [str(error) for error in result.errors]


TEMPLATES = job_templates()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_survey_matches_argument_specs(template):
    options = role_options(template["playbook"])
    variables = [q["variable"] for q in template["questions"]]
    assert len(variables) == len(set(variables)), variables
    for question in template["questions"]:
        name = question["variable"]
        if name in PLAYBOOK_VARS:
            continue
        assert name in options, f"{template['name']}: {name} is in no argument spec of {ROLES[template['playbook']]}"
        option = options[name]
        kind = option.get("type", "str")
        assert question["type"] in SURVEY_TYPES[kind], (name, kind, question["type"])
        if option.get("required"):
            assert question["required"], f"{name} is required by its role"
        if "choices" in option:
            assert question["type"] == "multiplechoice" and question["choices"] == [str(c) for c in option["choices"]]
        if kind == "bool":
            assert question["choices"] == ["true", "false"], name
        if "default" in option and "{{" not in str(option["default"]) and "default" in question:
            expected = str(option["default"]).lower() if kind == "bool" else option["default"]
            if name != "webfarm_vm_count" or template["name"] != "webfarm scale":
                assert question["default"] == expected, (name, question["default"], option["default"])
        if question["type"] == "integer":
            assert question["min"] <= question["default"] <= question["max"], name


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_defaults_and_choices_pass_argument_specs(template):
    options = role_options(template["playbook"])
    questions = [q for q in template["questions"] if q["variable"] not in PLAYBOOK_VARS]
    defaults = {q["variable"]: as_awx_sends(q, q["default"]) for q in questions if "default" in q}
    # all defaults together (plus the inventory's variables), as a launch without answers
    params = {**INVENTORY_VARS, **defaults}
    relevant = {name: option for name, option in options.items() if name in params or option.get("required")}
    assert validate(relevant, params) == []
    # every choice, each one alone in the defaults
    for question in questions:
        for choice in question.get("choices", []):
            assert validate(relevant, {**params, question["variable"]: as_awx_sends(question, choice)}) == [], (
                question["variable"], choice)
    # and the rules really apply: a wrong choice or type is refused
    for question in questions:
        if question.get("choices"):
            assert validate(relevant, {**params, question["variable"]: "no-such-choice"}) != []
        if question["type"] == "integer":
            assert validate(relevant, {**params, question["variable"]: "many"}) != []


def test_configure_playbook_syntax():
    done = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", str(AWX_DIR / "configure.yml")],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


class _PlaybookLoader(yaml.SafeLoader):
    """YAML of a playbook: !unsafe (a literal Jinja string) is a plain string here."""


_PlaybookLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _tasks(node) -> list[dict]:
    out = []
    for task in node:
        out.append(task)
        for key in ("block", "rescue", "always"):
            out += _tasks(task.get(key, []))
    return out


def test_awx_module_options_exist():
    plays = yaml.load((AWX_DIR / "configure.yml").read_text(), Loader=_PlaybookLoader)  # noqa: S506
    used: dict[str, list[dict]] = {}
    for play in plays:
        for task in _tasks(play.get("tasks", [])):
            for key, args in task.items():
                if key.startswith("awx.awx."):
                    used.setdefault(key, []).append(args)
    assert used, "configure.yml uses no awx.awx module"
    docs = json.loads(subprocess.run([str(BIN / "ansible-doc"), "-j", *used], capture_output=True, text=True,
                                     check=True, cwd=REPO_ROOT).stdout)
    for module, calls in used.items():
        options = docs[module]["doc"]["options"]
        aliases = {alias: name for name, option in options.items() for alias in option.get("aliases", [])}
        for args in calls:
            for name, value in args.items():
                real = aliases.get(name, name)
                assert real in options, f"{module} has no option {name}"
                choices = options[real].get("choices")
                if choices and isinstance(value, str) and "{{" not in value:
                    assert value in choices, (module, name, value, choices)


def test_survey_types_are_awx_types():
    for template in TEMPLATES:
        assert template["job_type"] in ("run", "check")
        for question in template["questions"]:
            assert question["type"] in ("text", "textarea", "password", "integer", "float", "multiplechoice",
                                        "multiselect"), question
            assert {"question_name", "variable", "type", "required"} <= set(question), question
            if question["type"] == "multiplechoice":
                assert question["default"] in question["choices"], question
