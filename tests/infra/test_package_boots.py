"""The package boots, for every Python version the stack allows: ``dist/app.zip`` as built by
``make package PYTHON_VERSION=3.X``, unzipped, imports and indexes its functions in a clean
interpreter of that version whose only extra import path is the package's
``.python_packages/lib/site-packages`` (as the Functions Python worker on Linux runs it), and
serves one orchestration on the local host. Built from ``requirements-py3.X.lock``: the
versions tested here are the versions that ship.

Each version's interpreter comes from pyenv or ``python3.X`` on PATH (infra.pythons). A version
not installed here is skipped, saying so; in CI (``CI=true``) it fails instead."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from infra import hostjson
from infra import package as pkg
from infra.pythons import find_python, in_ci
from infra.wheels import is_hashed_lock, target_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS = pkg.LOCKED_PYTHON_VERSIONS
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
needs_target = pytest.mark.skipif(
    not (platform.system() == "Linux" and platform.machine() == "x86_64"),
    reason="the package's native wheels are for Linux x86_64",
)

INDEX_FUNCTIONS = r"""
import json, sys
app_dir, site_packages = sys.argv[1], sys.argv[2]
sys.path[:0] = [app_dir, site_packages]
import azure.functions, azure.durable_functions
import function_app
functions = function_app.app.get_functions()
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2],
    "azure.functions": azure.functions.__file__,
    "azure.durable_functions": azure.durable_functions.__file__,
    "functions": sorted(f.get_function_name() for f in functions),
    "bindings": sorted({b["type"] for f in functions
                        for b in json.loads(f.get_function_json())["bindings"]}),
    "site": [p for p in sys.path if "site-packages" in p],
}))
"""


def python_for(version: str) -> Path:
    """This machine's interpreter of ``version``; skips (fails in CI) when there is none."""
    python = find_python(version)
    if python is None:
        message = (f"no Python {version} here (pyenv or python{version} on PATH): "
                   f"the package for pythonVersion {version} was not booted")
        if in_ci():
            pytest.fail(message + "; CI must have every version the stack allows")
        pytest.skip(message)
    return python


def unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
    return into


def lock_text(version: str) -> str:
    return (REPO_ROOT / pkg.lock_file(version)).read_text()


def lock_pins(version: str) -> dict[str, str]:
    """``{name: version}`` of the lock's requirements that apply on Linux CPython ``version``."""
    pins = {}
    for entry in re.sub(r"\\\n", " ", lock_text(version)).splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;([^-]*))?", entry)
        if match and (not match.group(3)
                      or Marker(match.group(3).strip()).evaluate(target_environment(version))):
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def vendored(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            match.group(1).lower().replace("_", "-"): match.group(2)
            for name in archive.namelist()
            if (match := re.fullmatch(
                rf"{pkg.SITE_PACKAGES}/([A-Za-z0-9_.]+)-([^-/]+)\.dist-info/METADATA", name))
        }


@pytest.fixture(scope="module")
def package_for(repo_packages, tmp_path_factory):
    """``package_for(version, backend)``: the repository's package for that Python and
    backend, built once (the default version's come from the session's ``repo_packages``)."""
    built = {(pkg.DEFAULT_PYTHON_VERSION, b): result for b, result in repo_packages.items()}
    out = tmp_path_factory.mktemp("packages")

    def build(version: str, backend: str = pkg.AZURE_STORAGE) -> pkg.BuildResult:
        if (version, backend) not in built:
            built[version, backend] = pkg.build_package(
                REPO_ROOT, out / f"app-{version}-{backend}.zip",
                python_version=version, durable_backend=backend,
            )
        return built[version, backend]

    return build


@pytest.fixture(scope="module")
def unzipped_for(package_for, tmp_path_factory):
    """``unzipped_for(version, backend)``: that package unzipped into its own folder."""
    root = tmp_path_factory.mktemp("unzipped")
    done: dict[tuple[str, str], Path] = {}

    def get(version: str, backend: str = pkg.AZURE_STORAGE) -> Path:
        if (version, backend) not in done:
            done[version, backend] = unzip(package_for(version, backend).path,
                                           root / f"{version}-{backend}")
        return done[version, backend]

    return get


def test_every_python_version_the_stack_allows_has_a_lock():
    """infra.config's pythonVersion values (any plan) are the locked versions, each lock
    resolved by its own Python (pip-compile's header names it), hashed."""
    from infra.config import PYTHON_VERSIONS

    allowed = {version for versions in PYTHON_VERSIONS.values() for version in versions}
    assert allowed == set(VERSIONS)
    for version in VERSIONS:
        lock = REPO_ROOT / pkg.lock_file(version)
        assert lock.is_file(), f"{lock.name} is missing: run `make lock`"
        assert is_hashed_lock(lock)
        assert f"autogenerated by pip-compile with Python {version}\n" in lock.read_text()
    assert not (REPO_ROOT / "requirements.lock").exists(), "one lock per Python version"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_lock_pins_every_requirement_with_hashes(version):
    """requirements-py3.X.lock is requirements.txt resolved for Python 3.X: every requirement
    whose marker applies there is pinned to a version its specifier allows (if not, run
    `make lock`); on 3.13 that is azure-functions 2.x, the first line built for 3.13."""
    pins = lock_pins(version)
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(target_environment(version)):
            continue
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} from requirements.txt is not in {pkg.lock_file(version)}"
        assert requirement.specifier.contains(pins[name]), f"{name}: run `make lock`"
    major = 2 if tuple(map(int, version.split("."))) >= (3, 13) else 1
    assert pins["azure-functions"].split(".")[0] == str(major), pins["azure-functions"]


def test_the_package_leaves_the_python_runtime_to_the_platform():
    """Decided from Microsoft's "Python 3.13+ changes" page (README, Deploying): no
    ``azure-functions-runtime`` in what ships, so Python 3.13+ apps run on the default
    Functions Python runtime the platform manages and updates, as 3.11 and 3.12 apps do."""
    assert "azure-functions-runtime" not in (REPO_ROOT / "requirements.txt").read_text()
    for version in VERSIONS:
        assert not {"azure-functions-runtime", "azure-functions-runtime-v1"} & set(
            lock_pins(version)), pkg.lock_file(version)


@needs_target
@pytest.mark.parametrize("version", VERSIONS)
def test_the_package_imports_and_indexes_in_a_clean_interpreter_of_its_python(
        unzipped_for, package_for, version):
    python = python_for(version)
    app_dir = unzipped_for(version)
    site_packages = app_dir / pkg.SITE_PACKAGES
    assert pkg.built_for_python(package_for(version).path) == version
    proc = subprocess.run(
        # -S: no site module, so not this machine's site-packages; -E: no PYTHON* variables;
        # -s: no user site. What remains is the standard library plus the two paths given.
        [str(python), "-S", "-E", "-s", "-c", INDEX_FUNCTIONS, str(app_dir), str(site_packages)],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["python"] == version
    assert report["site"] == [str(site_packages)]
    for module in ("azure.functions", "azure.durable_functions"):
        assert report[module].startswith(str(site_packages)), report[module]
    assert {"book_trip", "backup_site_content", "process_sites"} <= set(report["functions"])
    # What the deploy's host check will demand is what this package indexes.
    from infra.program import EXPECTED_FUNCTIONS

    assert set(EXPECTED_FUNCTIONS) <= set(report["functions"])
    assert {"orchestrationTrigger", "activityTrigger", "httpTrigger"} <= set(report["bindings"])


@pytest.mark.parametrize("version", VERSIONS)
def test_the_package_vendors_exactly_the_locked_versions(package_for, version):
    assert vendored(package_for(version).path) == lock_pins(version)


@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_package_host_json_matches_its_backend(repo_packages, backend):
    assert pkg.built_for_backend(repo_packages[backend].path) == backend
    with zipfile.ZipFile(repo_packages[backend].path) as archive:
        host = json.loads(archive.read("host.json"))
    repo_host = json.loads((REPO_ROOT / "host.json").read_text())
    assert host == hostjson.host_json_for(repo_host, backend)


@needs_target
@pytest.mark.skipif(THIS_PYTHON not in VERSIONS,
                    reason=f"Python {THIS_PYTHON} is not a pythonVersion the stack allows")
@pytest.mark.parametrize("backend", pkg.DURABLE_BACKENDS)
def test_the_unzipped_package_serves_an_orchestration_on_the_local_host(unzipped_for, backend):
    """`python -m emulator --app <unzipped> --port 0 --state :memory:`, in its own process so
    the app's modules come from the package, not from this test process; the local host
    accepts either host.json (it reads only the hub name and the limits). The DTS host.json
    names its hub through the app setting the program sets, so the host gets that setting too
    and the status URLs must carry the resolved name. The local host runs on this Python, so
    it serves this Python's package (`.ci/run` runs the suite on 3.11 and on 3.13)."""
    app_dir = unzipped_for(THIS_PYTHON, backend)
    from emulator.testing import LocalHost

    trip = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris",
            "destination": "Berlin", "departure_date": "2026-04-20", "return_date": "2026-04-23"}
    settings = {hostjson.TASKHUB_SETTING: "PackagedHub"}
    with LocalHost(app_dir, subprocess=True, time_skipping=True,
                   settings=settings) as host:
        status = host.wait(host.start("book_trip", trip), timeout=60)
        durable = host.request("GET", "/admin/host/status").json()["extensions"]["durableTask"]
    assert status["runtimeStatus"] == "Completed", status
    hub = json.loads((app_dir / "host.json").read_text())["extensions"]["durableTask"]
    expected = "PackagedHub" if backend == pkg.DTS else hub["hubName"]
    assert durable["hubName"] == expected


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
