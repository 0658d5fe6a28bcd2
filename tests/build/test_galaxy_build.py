"""Build the collection artifact the way a release does and use it the way a user does.

`ansible-galaxy collection build` from the repository root (galaxy.yml's build_ignore
decides what ships), `ansible-galaxy collection install --no-deps` of the tarball into an
empty collections path, then the installed content is resolved by FQCN: every module's
documentation with ansible-doc, and the collection's playbooks with --syntax-check.
The dependencies (azure.azcollection, ...) come from the `ansible` package in the venv,
as they do on our machines where Galaxy is not reachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
PLAYBOOKS = sorted(p.stem for p in (REPO_ROOT / "playbooks").glob("*.yml"))
# the bundled collections of the `ansible` PyPI package (azure.azcollection, ...)
VENV_COLLECTIONS = Path(yaml.__file__).parents[1]

# never part of the artifact, whatever build_ignore says
MUST_NOT_SHIP = ("lab/", "scripts/", ".venv/", ".build/", ".git/", ".ci/", "benchmarks/",
                 "tests/output/", "tests/build/", "inventories/", "collections/", "Makefile",
                 "bindep.txt", "requirements-dev.txt")


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO_ROOT)])
    tarballs = list(out.glob("*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(scope="module")
def installed(artifact, tmp_path_factory) -> Path:
    """An empty collections path with only our artifact installed into it."""
    path = tmp_path_factory.mktemp("collections")
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(path), str(artifact)])
    return path


@pytest.fixture(scope="module")
def user_env(installed) -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(installed), str(VENV_COLLECTIONS)])
    # a user's shell: no project config, run from elsewhere
    env.pop("ANSIBLE_CONFIG", None)
    return env


def test_artifact_name_and_manifest(artifact):
    assert artifact.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])
    assert info["dependencies"] == GALAXY["dependencies"]
    assert "azure.azcollection" in info["dependencies"]
    assert info["license"] == ["GPL-3.0-or-later"]


def test_artifact_contents(artifact):
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    for required in ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
                     "playbooks/lab_check.yml", "changelogs/changelog.yaml"):
        assert required in names, f"{required} missing from {artifact.name}"
    leaked = [n for n in names for bad in MUST_NOT_SHIP
              if n == bad.rstrip("/") or n.startswith(bad) or f"/{bad}" in f"/{n}"]
    assert not leaked, f"development files in the artifact: {leaked}"
    assert not [n for n in names if n.endswith((".pyc", ".tar.gz")) or "__pycache__" in n]


def test_installed_collection_is_listed(installed, user_env):
    result = run([str(BIN / "ansible-galaxy"), "collection", "list", FQCN, "-p", str(installed), "--format", "json"],
                 env=user_env)
    found = {name: data for listing in json.loads(result.stdout).values() for name, data in listing.items()}
    assert found[FQCN]["version"] == GALAXY["version"]


def test_dependencies_resolve(user_env, tmp_path):
    """Every declared dependency is present where our machines get it from (the ansible package)."""
    result = run([str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json"], env=user_env, cwd=tmp_path)
    present = {name: data["version"] for listing in json.loads(result.stdout).values() for name, data in listing.items()}
    for dep in GALAXY["dependencies"]:
        assert dep in present, f"dependency {dep} not installed"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax_by_fqcn(playbook, installed, user_env, tmp_path):
    result = run([str(BIN / "ansible-playbook"), f"{FQCN}.{playbook}", "--syntax-check"], env=user_env, cwd=tmp_path)
    # resolved from the installed artifact, not from the checkout
    expected = installed / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"] / "playbooks" / f"{playbook}.yml"
    assert f"playbook: {expected}" in result.stdout


@pytest.mark.skipif(not MODULES, reason="the collection has no modules yet (plugins/modules/ is empty)")
@pytest.mark.parametrize("module", MODULES or ["none"])
def test_module_doc_by_fqcn(module, user_env, tmp_path):
    result = run([str(BIN / "ansible-doc"), "-t", "module", "--json", f"{FQCN}.{module}"], env=user_env, cwd=tmp_path)
    doc = json.loads(result.stdout)[f"{FQCN}.{module}"]["doc"]
    assert doc["short_description"]
    assert doc["module"] == module
