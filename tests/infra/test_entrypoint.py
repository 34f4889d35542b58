"""``infra/__main__.py`` as Pulumi runs it, and the dynamic provider as Pulumi's provider
process loads it -- each in a fresh interpreter whose import path is set up the way Pulumi's
is, not the way pytest's is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
TESTS_DIR = Path(__file__).resolve().parent

# Like pulumi-language-python-exec: a script outside the project, the project as working
# directory, `runpy.run_path(".")`. The mocks come from conftest, which is then taken back off
# the import path so the program must make `infra` importable by itself.
RUN_PROGRAM = """
import json, runpy, sys
sys.path.insert(0, {tests_dir!r})
import conftest
sys.path.remove({tests_dir!r})
sys.path.remove({repo_root!r})
assert "infra" not in sys.modules
import pulumi

mocks = conftest.AzureMocks()
pulumi.runtime.set_mocks(mocks, project=conftest.PROJECT, stack="dev", preview=False)
pulumi.runtime.set_all_config({{
    conftest.PROJECT + ":hostingPlan": {plan!r},
    conftest.PROJECT + ":packagePath": {package!r},
    "azure-native:location": "westeurope",
}})

@pulumi.runtime.test
def program():
    runpy.run_path(".", run_name="__main__")

program()
def provider(inputs):
    value = inputs.get("__provider")  # Pulumi marks it secret: {{sig, value}}
    return value["value"] if isinstance(value, dict) else value

print(json.dumps([
    {{"type": c.typ, "name": c.name, "provider": provider(c.inputs)}} for c in mocks.created
]))
"""

# Like `python -m pulumi.dynamic` started in the project folder: the working directory is the
# first import path entry and the repository root is not on it.
LOAD_PROVIDER = """
import base64, importlib.util, os, sys
sys.path.insert(0, os.getcwd())
assert importlib.util.find_spec("infra") is None, "infra must not be importable here"
import dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
old = {"operation": "flex-publish", "scm_url": "https://a", "package_sha256": "1"}
print(type(provider).__module__, type(provider).__name__,
      provider.diff("id", old, dict(old, package_sha256="2")).changes)
"""


def python(script: str, tmp_path: Path, stdin: str = "") -> str:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=INFRA_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def package(tmp_path: Path) -> str:
    path = tmp_path / "app.zip"
    path.write_bytes(b"PK\x05\x06" + bytes(18))
    return str(path)


@pytest.mark.parametrize("plan, steps", [("flex", 1), ("consumption", 2)])
def test_pulumi_entry_point_runs_and_its_provider_loads_in_the_provider_process(
    tmp_path, package, plan, steps
):
    created = json.loads(
        python(
            RUN_PROGRAM.format(
                tests_dir=str(TESTS_DIR), repo_root=str(REPO_ROOT), plan=plan, package=package
            ),
            tmp_path,
        )
    )
    types = {c["type"] for c in created}
    assert {"azure-native:web:WebApp", "azure-native:storage:StorageAccount"} <= types
    providers = [c["provider"] for c in created if c["type"].startswith("pulumi-python:dynamic")]
    assert len(providers) == steps

    for provider in providers:
        assert python(LOAD_PROVIDER, tmp_path, stdin=provider) == (
            "deploy PackageDeployProvider True"
        )
