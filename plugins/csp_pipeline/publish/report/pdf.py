"""Print a report page to PDF with headless Chromium (the distribution's `chromium` package)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Lay the page out about as wide as A4's printable width, so charts drawn on load fit the paper.
WINDOW = "--window-size=700,1000"


class PrintError(RuntimeError):
    pass


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PrintError("no headless browser found: install the distribution's chromium package "
                     "(apt-get install chromium)")


def print_pdf(page: Path, out: Path, timeout: int = 120) -> Path:
    """`page` (an HTML file) to `out`; charts get up to 20 s of page time to draw first."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="csp-chromium-") as profile:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={profile}", WINDOW, "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=20000",
               f"--print-to-pdf={out}", Path(page).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise PrintError(f"chromium could not print {page} to {out} (exit {done.returncode}): "
                         f"{done.stderr[-2000:]}")
    return out
