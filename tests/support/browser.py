"""Headless Chromium for the browser tests: Playwright for Python driving Debian's Chromium.

Browsers cannot be downloaded at run time, so Playwright launches the system's
`chromium` (`scripts/install_chromium.sh` installs it; `.ci/run` calls that). Without it
the tests that use `browser_page` skip and say why. Screenshots of the main steps go to
`tests/artifacts/` (git ignores it): `shot(page, "name")`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CONGDOAN_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Not for the whole session: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is open, and every later test calling
    asyncio.run() (the stand-in's python-telegram-bot tests, the sender's) would fail."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (run scripts/install_chromium.sh, or set CONGDOAN_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.skip("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh context (no cookies) with a phone-sized screen and Vietnamese as the language."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.test_name = request.node.name  # type: ignore[attr-defined]
    yield page
    context.close()


def shot(page, step: str) -> Path:  # type: ignore[no-untyped-def]
    """Keep a screenshot of one step: tests/artifacts/<test>/<step>.png."""
    folder = ARTIFACTS / _safe(getattr(page, "test_name", "page"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(step)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)
