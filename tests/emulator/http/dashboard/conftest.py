"""Fixtures of the dashboard tests: a real headless Chromium (Debian's package, driven by
Playwright) and local hosts serving the project app.

Without a browser the browser tests skip on a developer's machine (``make test`` installs one
when it can) and FAIL in CI (``CI=true``), so a missing install step cannot pass unnoticed.
Screenshots go to ``$DASHBOARD_SCREENSHOTS`` when set (``make screenshots`` points it at
docs/screenshots/), else to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing import REPO_ROOT, LocalHost

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = {"width": 1280, "height": 800}
UI_TIMEOUT_MS = 20_000


def chromium_path() -> str | None:
    explicit = os.environ.get("DASHBOARD_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run in CI; see Makefile "
                    "'browser')", pytrace=False)
    pytest.skip(f"{reason}; run `make browser` (apt-get install chromium) to enable")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Not for the whole session: Playwright's sync API keeps an
    event loop running in this thread while it is open, and later tests call asyncio.run()."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed")
    executable = chromium_path()
    if executable is None:
        _missing("no Chromium found (DASHBOARD_CHROMIUM, or chromium on PATH)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; a JavaScript error on it fails the test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def app_host() -> Iterator[LocalHost]:
    """The project app as ``python -m emulator --time-skipping`` in a child process."""
    with LocalHost(REPO_ROOT, time_skipping=True, subprocess=True) as host:
        yield host


class Screenshots:
    """Writes small PNGs: toasts hidden, colours reduced to a 256-colour palette."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def take(self, page, name: str, *, full_page: bool = False) -> Path:
        from PIL import Image

        path = self.folder / f"{name}.png"
        for toast in page.query_selector_all(".toast"):
            toast.click()  # a click dismisses it
        page.mouse.move(0, 0)  # no hover highlight in the picture
        page.screenshot(path=path, full_page=full_page)
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        small.save(path, optimize=True)
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Screenshots:
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return Screenshots(folder)
