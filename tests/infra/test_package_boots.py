"""The package boots: ``dist/app.zip`` as built by ``make package``, unzipped, imports and
indexes its functions in a clean interpreter whose only extra import path is the package's
``.python_packages/lib/site-packages`` (as the Functions Python worker on Linux runs it), and
serves one orchestration on the local host. Built from requirements.lock: the versions
tested here are the versions that ship."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import hostjson
from infra import package as pkg
from infra.wheels import is_hashed_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
SAME_TARGET = platform.system() == "Linux" and platform.machine() == "x86_64" and (
    f"{sys.version_info.major}.{sys.version_info.minor}" == pkg.DEFAULT_PYTHON_VERSION
)
needs_target = pytest.mark.skipif(
    not SAME_TARGET, reason="the package's native wheels are for Linux x86_64 CPython 3.11"
)

INDEX_FUNCTIONS = r"""
import json, sys
app_dir, site_packages = sys.argv[1], sys.argv[2]
sys.path[:0] = [app_dir, site_packages]
import azure.functions, azure.durable_functions
import function_app
functions = function_app.app.get_functions()
print(json.dumps({
    "azure.functions": azure.functions.__file__,
    "azure.durable_functions": azure.durable_functions.__file__,
    "functions": sorted(f.get_function_name() for f in functions),
    "bindings": sorted({b["type"] for f in functions
                        for b in json.loads(f.get_function_json())["bindings"]}),
    "site": [p for p in sys.path if "site-packages" in p],
}))
"""


def unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
    return into


def lock_pins() -> dict[str, str]:
    text = (REPO_ROOT / pkg.LOCK_FILE).read_text()
    return {
        name.lower().replace("_", "-"): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)
    }


@pytest.fixture(scope="module")
def unzipped(repo_packages, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("unzipped")
    return {
        backend: unzip(result.path, root / backend) for backend, result in repo_packages.items()
    }


@needs_target
@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_package_imports_and_indexes_in_a_clean_interpreter(unzipped, backend):
    app_dir = unzipped[backend]
    site_packages = app_dir / pkg.SITE_PACKAGES
    proc = subprocess.run(
        # -S: no site module, so not this machine's site-packages; -E: no PYTHON* variables;
        # -s: no user site. What remains is the standard library plus the two paths given.
        [sys.executable, "-S", "-E", "-s", "-c", INDEX_FUNCTIONS, str(app_dir), str(site_packages)],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["site"] == [str(site_packages)]
    for module in ("azure.functions", "azure.durable_functions"):
        assert report[module].startswith(str(site_packages)), report[module]
    assert {"book_trip", "backup_site_content", "process_sites"} <= set(report["functions"])
    # What the deploy's host check will demand is what this package indexes.
    from infra.program import EXPECTED_FUNCTIONS

    assert set(EXPECTED_FUNCTIONS) <= set(report["functions"])
    assert {"orchestrationTrigger", "activityTrigger", "httpTrigger"} <= set(report["bindings"])


@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_package_vendors_exactly_the_locked_versions(repo_packages, backend):
    pins = lock_pins()
    with zipfile.ZipFile(repo_packages[backend].path) as archive:
        vendored = {
            match.group(1).lower().replace("_", "-"): match.group(2)
            for name in archive.namelist()
            if (match := re.fullmatch(
                rf"{pkg.SITE_PACKAGES}/([A-Za-z0-9_.]+)-([^-/]+)\.dist-info/METADATA", name))
        }
    assert vendored == pins


@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_package_host_json_matches_its_backend(repo_packages, backend):
    assert pkg.built_for_backend(repo_packages[backend].path) == backend
    with zipfile.ZipFile(repo_packages[backend].path) as archive:
        host = json.loads(archive.read("host.json"))
    repo_host = json.loads((REPO_ROOT / "host.json").read_text())
    assert host == hostjson.host_json_for(repo_host, backend)


@needs_target
@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_unzipped_package_serves_an_orchestration_on_the_local_host(unzipped, backend):
    """`python -m emulator --app <unzipped> --port 0 --state :memory:`, in its own process so
    the app's modules come from the package, not from this test process; the local host
    accepts either host.json (it reads only the hub name and the limits). The DTS host.json
    names its hub through the app setting the program sets, so the host gets that setting too
    and the status URLs must carry the resolved name."""
    from emulator.testing import LocalHost

    trip = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris",
            "destination": "Berlin", "departure_date": "2026-04-20", "return_date": "2026-04-23"}
    settings = {hostjson.TASKHUB_SETTING: "PackagedHub"}
    with LocalHost(unzipped[backend], subprocess=True, time_skipping=True,
                   settings=settings) as host:
        status = host.wait(host.start("book_trip", trip), timeout=60)
        durable = host.request("GET", "/admin/host/status").json()["extensions"]["durableTask"]
    assert status["runtimeStatus"] == "Completed", status
    hub = json.loads((unzipped[backend] / "host.json").read_text())["extensions"]["durableTask"]
    expected = "PackagedHub" if backend == pkg.DTS else hub["hubName"]
    assert durable["hubName"] == expected


def test_the_lock_pins_every_requirement_with_hashes():
    """requirements.lock is requirements.txt resolved: every requirement pinned to a version
    its specifier allows (if not, run `make lock`), every file hashed."""
    from packaging.requirements import Requirement

    lock = REPO_ROOT / pkg.LOCK_FILE
    assert is_hashed_lock(lock)
    pins = lock_pins()
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            name = requirement.name.lower().replace("_", "-")
            assert name in pins, f"{name} from requirements.txt is not in {pkg.LOCK_FILE}"
            assert requirement.specifier.contains(pins[name]), f"{name}: run `make lock`"


def test_a_requirements_file_without_hashes_is_not_taken_for_a_lock(tmp_path):
    loose = tmp_path / "requirements.txt"
    loose.write_text("azure-functions>=1.26\n")
    assert not is_hashed_lock(loose)
    pinned_without_hash = tmp_path / "pinned.txt"
    pinned_without_hash.write_text("azure-functions==1.26.0\n")
    assert not is_hashed_lock(pinned_without_hash)


def test_a_tampered_hash_fails_the_build(tmp_path):
    """pip checks every downloaded file against the lock: a wrong hash stops the build."""
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "six==1.17.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    )
    with pytest.raises(pkg.PackageError, match="(?i)hash"):
        pkg.vendor_dependencies(lock, tmp_path / "site", "3.11", tmp_path / "cache")
