"""Headless Chromium (the distribution's package) driven by Playwright, for the page tests.

Every page is opened from the file system with the network cut: any request that is not
`file://` is recorded and aborted, so a page that needs the network fails its test."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from csp_pipeline.core.settings import PROJECT_ROOT

ARTEFACTS = Path(os.environ.get("CSP_TEST_ARTEFACTS", PROJECT_ROOT / "test-artefacts"))


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)  # uncaught script errors, console errors
    network: list[str] = field(default_factory=list)  # requests that left the file system


def artefact_dir(name: str) -> Path:
    folder = ARTEFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "install the distribution's chromium package (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_offline(browser, path: Path, width: int = 1100):
    """A new page on `path` with the network cut; returns (page, log)."""
    log = PageLog()
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            log.network.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda m: m.type == "error" and log.errors.append(f"console: {m.text}"))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, log
