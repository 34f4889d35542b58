"""The deployment package builder (infra/package.py).

The builds download Linux wheels from PyPI the first time and reuse the wheel cache after
(``$INFRA_WHEEL_CACHE`` or ``~/.cache/durable-functions-python/wheels``).
"""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import package as pkg
from infra import wheels
from infra.funcignore import FuncIgnore

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = pkg.SITE_PACKAGES + "/"
APP_PACKAGES = ("activities", "api", "orchestrators", "shared")
NEVER = ("emulator", "infra", "experiment", "tests", "benchmarks", "docs", "dist", "node_modules")


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def app_root(tmp_path_factory) -> Path:
    """A repository-shaped tree: the app plus everything that must stay out of the zip."""
    root = tmp_path_factory.mktemp("repo")
    write(root / "function_app.py", "import azure.functions\n")
    write(root / "host.json", '{"version": "2.0"}\n')
    write(root / "requirements.txt", (REPO_ROOT / "requirements.txt").read_text())
    for version in pkg.LOCKED_PYTHON_VERSIONS:
        lock = pkg.lock_file(version)
        write(root / lock, (REPO_ROOT / lock).read_text())
    for name in APP_PACKAGES:
        write(root / name / "__init__.py")
        write(root / name / "module.py", f"NAME = {name!r}\n")
    write(root / "api" / "__pycache__" / "module.cpython-311.pyc", "bytecode")
    write(root / "api" / "notes.md", "design notes\n")
    write(root / "api" / "routes" / "__init__.py")
    write(root / "orchestrators" / "fixtures" / "sample.json", "{}")
    write(root / ".funcignore", "# app team's rules\n*.md\norchestrators/fixtures/\n")
    for name in NEVER:
        write(root / name / "__init__.py")
        write(root / name / "secret.py")
    write(root / "local.settings.json", '{"Values": {}}')
    write(root / ".venv" / "lib" / "site.py")
    write(root / ".git" / "HEAD")
    write(root / "notebook" / "scratch.py")  # not a package: not part of the app
    write(root / "conftest.py")
    return root


@pytest.fixture(scope="module")
def built(app_root, tmp_path_factory) -> pkg.BuildResult:
    return pkg.build_package(app_root, tmp_path_factory.mktemp("dist") / "app.zip")


@pytest.fixture(scope="module")
def names(built) -> list[str]:
    with zipfile.ZipFile(built.path) as archive:
        return archive.namelist()


def test_app_sits_at_the_root_and_nothing_else_does(names):
    app_files = {n for n in names if not n.startswith(".python_packages/") and not n.endswith("/")}
    expected = {"function_app.py", "host.json", "requirements.txt", "api/routes/__init__.py"}
    for name in APP_PACKAGES:
        expected |= {f"{name}/__init__.py", f"{name}/module.py"}
    assert app_files == expected
    top_level = {n.split("/")[0] for n in names}
    assert top_level == {"function_app.py", "host.json", "requirements.txt", ".python_packages"} | {
        *APP_PACKAGES
    }
    for excluded in (*NEVER, ".venv", ".git", "local.settings.json", "notebook", "conftest.py"):
        assert excluded not in top_level
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_funcignore_is_honoured(names):
    assert "api/notes.md" not in names
    assert not [n for n in names if n.startswith("orchestrators/fixtures")]


def test_dependencies_are_vendored_into_python_packages(names):
    for module in (
        "azure/functions/__init__.py",
        "azure/durable_functions/__init__.py",
        "azure/storage/blob/__init__.py",
        "azure/identity/__init__.py",
        "aiohttp/__init__.py",
        "requests/__init__.py",
    ):
        assert SITE + module in names
    assert not [n for n in names if n.startswith(SITE + "bin/")]


def test_native_modules_are_manylinux_x86_64_for_cpython_311(built, names):
    shared_objects = [n for n in names if n.endswith(".so")]
    assert any("aiohttp/" in n for n in shared_objects)
    assert pkg.built_for_python(built.path) == "3.11"
    with zipfile.ZipFile(built.path) as archive:
        for name in shared_objects:
            assert name.endswith((".cpython-311-x86_64-linux-gnu.so", ".abi3.so")), name
            header = archive.read(name)[:20]
            assert header[:4] == b"\x7fELF", name
            assert header[4] == 2, f"{name}: not 64-bit"
            (machine,) = struct.unpack("<H", header[18:20])
            assert machine == 0x3E, f"{name}: not x86_64"
        for wheel in [n for n in names if n.endswith(".dist-info/WHEEL")]:
            tags = [
                line.split(":", 1)[1].strip()
                for line in archive.read(wheel).decode().splitlines()
                if line.startswith("Tag:")
            ]
            assert tags, wheel
            for tag in tags:
                python, abi, platform = tag.split("-")
                if platform == "any":
                    assert abi == "none", wheel
                else:
                    assert "linux" in platform and platform.endswith("x86_64"), (wheel, tag)
                    assert abi in ("cp311", "abi3"), (wheel, tag)


def test_entries_are_deterministic_unix_files(built):
    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3
        mode = info.external_attr >> 16
        assert mode == (0o40755 if info.is_dir() else 0o100644), info.filename
    assert built.file_count == len([i for i in infos if not i.is_dir()])
    assert built.sha256 == hashlib.sha256(built.path.read_bytes()).hexdigest()


def test_building_twice_gives_the_same_bytes(app_root, built, tmp_path):
    again = pkg.build_package(app_root, tmp_path / "again.zip")
    assert again.sha256 == built.sha256
    assert again.size == built.size


def test_missing_app_files_are_reported(tmp_path):
    write(tmp_path / "host.json", "{}")
    with pytest.raises(pkg.PackageError, match="missing function_app.py, requirements.txt"):
        pkg.select_app_files(tmp_path)


@pytest.mark.parametrize("name", ["infra", "tests", ".venv", "local.settings.json"])
def test_denied_entries_cannot_be_included(app_root, name):
    with pytest.raises(pkg.PackageError, match="never deployed"):
        pkg.select_app_files(app_root, includes=[name])


def test_include_adds_a_non_package_entry(app_root):
    selected = dict(pkg.select_app_files(app_root, includes=["notebook"]))
    assert "notebook/scratch.py" in selected


def test_wheel_resolution_failure_is_reported(tmp_path):
    write(tmp_path / "requirements.txt", "this-package-does-not-exist-anywhere-xyz==1.0\n")
    with pytest.raises(pkg.PackageError, match="Linux x86_64 CPython"):
        pkg.vendor_dependencies(
            tmp_path / "requirements.txt", tmp_path / "site", "3.11", tmp_path / "cache"
        )


@pytest.mark.parametrize(
    "pattern, path, is_dir, ignored",
    [
        ("*.md", "README.md", False, True),
        ("*.md", "api/deep/notes.md", False, True),
        ("/docs", "docs", True, True),
        ("/docs", "api/docs", True, False),
        ("build/", "api/build", True, True),
        ("build/", "api/build", False, False),
        ("build/", "api/build/x.py", False, True),
        ("api/**/test_*.py", "api/a/b/test_x.py", False, True),
        ("api/**/test_*.py", "api/test_x.py", False, True),
        ("api/**/test_*.py", "apix/test_x.py", False, False),
        ("file?.py", "file1.py", False, True),
        ("file[0-9].py", "filex.py", False, False),
    ],
)
def test_funcignore_patterns(pattern, path, is_dir, ignored):
    assert FuncIgnore([pattern]).ignored(path, is_dir=is_dir) is ignored


def test_funcignore_negation_and_comments():
    rules = FuncIgnore(["# comment", "", "*.json", "!host.json"])
    assert rules.ignored("other.json")
    assert not rules.ignored("host.json")


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    assert pkg.main(["--app-root", str(tmp_path), "--out", str(tmp_path / "a.zip")]) == 2
    assert "not a Functions app root" in capsys.readouterr().err


def test_make_package_entry_point_runs_from_the_repo_root_without_pulumi():
    """`make package` runs `python -m infra.package`: it must not load the Pulumi SDK."""
    code = "import sys; import infra.package; print('pulumi' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "False", proc.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "infra.package", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "--out" in help_text and "--python-version" in help_text
    assert "--durable-backend" in help_text and "--requirements" in help_text


def test_a_missing_lock_file_says_how_to_make_it(app_root, tmp_path):
    with pytest.raises(pkg.PackageError, match="make lock"):
        pkg.build_package(app_root, tmp_path / "a.zip", requirements=tmp_path / "none.lock")


def test_a_python_the_stack_does_not_allow_names_the_locked_ones(app_root, tmp_path):
    with pytest.raises(pkg.PackageError, match=r"--python-version 3\.10: no lock for it; .* "
                       r"are 3\.11, 3\.12, 3\.13, or pass --requirements"):
        pkg.build_package(app_root, tmp_path / "a.zip", python_version="3.10")


def test_a_missing_lock_of_a_locked_python_says_make_lock(app_root, tmp_path):
    (app_root / pkg.lock_file("3.12")).rename(tmp_path / "kept.lock")
    try:
        with pytest.raises(pkg.PackageError, match=r"requirements-py3\.12\.lock does not exist"
                           r": run `make lock` .* for Python 3\.12"):
            pkg.build_package(app_root, tmp_path / "a.zip", python_version="3.12")
    finally:
        (tmp_path / "kept.lock").rename(app_root / pkg.lock_file("3.12"))


@pytest.mark.parametrize("version", pkg.LOCKED_PYTHON_VERSIONS)
def test_the_package_takes_the_lock_of_its_python(app_root, tmp_path, version):
    """`--python-version 3.13` vendors requirements-py3.13.lock: azure-functions 2.x (1.x has
    no build for 3.13) and native modules for CPython 3.13, wherever pip itself runs."""
    built = pkg.build_package(app_root, tmp_path / "app.zip", python_version=version)
    assert pkg.built_for_python(built.path) == version
    with zipfile.ZipFile(built.path) as archive:
        functions = [match.group(1) for n in archive.namelist() if (match := re.fullmatch(
            rf"{SITE}azure_functions-([^-/]+)\.dist-info/METADATA", n))]
    assert [v.split(".")[0] for v in functions] == ["2" if version == "3.13" else "1"], functions


def test_markers_are_evaluated_for_the_target_python_not_for_pip_s():
    """pip --python-version evaluates a requirements file's markers against the Python running
    pip: a 3.11 pip skipped `azure-functions==2.3.0 ; python_version >= "3.13"` of the 3.13 lock
    and then refused azure-functions-durable's unpinned dependency on it."""
    lock = (
        'azure-functions==1.26.0 ; python_version < "3.13" \\\n    --hash=sha256:aa\n'
        'azure-functions==2.3.0 ; python_version >= "3.13" \\\n    --hash=sha256:bb\n'
        "    # via azure-functions-durable\n"
        "six==1.17.0 \\\n    --hash=sha256:cc \\\n    --hash=sha256:dd\n"
    )
    def words(text: str) -> list[str]:
        return [" ".join(line.split()) for line in text.splitlines()]

    assert words(wheels.requirements_for_target(lock, "3.13")) == [
        "azure-functions==2.3.0 --hash=sha256:bb",
        "# via azure-functions-durable",
        "six==1.17.0 --hash=sha256:cc --hash=sha256:dd",
    ]
    assert words(wheels.requirements_for_target(lock, "3.11"))[0] == (
        "azure-functions==1.26.0 --hash=sha256:aa")


def test_included_requirement_files_keep_their_place(tmp_path):
    text = "-r requirements.txt\n--constraint=c.txt\naiohttp>=3.9; sys_platform == 'win32'\n"
    assert wheels.requirements_for_target(text, "3.12", tmp_path).splitlines() == [
        f"-r {tmp_path / 'requirements.txt'}", f"--constraint {tmp_path / 'c.txt'}"]


def test_a_bad_marker_is_a_package_error():
    with pytest.raises(pkg.PackageError, match="six==1.17.0 ; python_version >>"):
        wheels.requirements_for_target("six==1.17.0 ; python_version >> '3'\n", "3.12")


def test_an_unknown_backend_is_refused(app_root, tmp_path):
    with pytest.raises(pkg.PackageError, match="--durable-backend 'netherite'"):
        pkg.build_package(app_root, tmp_path / "a.zip", durable_backend="netherite")


@pytest.mark.skipif(
    not (REPO_ROOT / "function_app.py").is_file(), reason="the app is not in this checkout yet"
)
def test_real_repository_packages_only_the_app(repo_packages):
    with zipfile.ZipFile(repo_packages["azureStorage"].path) as archive:
        top_level = {n.split("/")[0] for n in archive.namelist()}
    assert {"function_app.py", "host.json", "requirements.txt", ".python_packages"} <= top_level
    assert not top_level & {*NEVER, ".venv", "local.settings.json", ".git", "node_modules"}
