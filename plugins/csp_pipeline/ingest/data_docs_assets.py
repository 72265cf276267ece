"""Great Expectations Data Docs that work behind a firewall: the scripts, styles, fonts and logo
that GE's pages load from CDNs (and a cloud bucket) are served from the site itself.

`make install` runs `python -m csp_pipeline.ingest.data_docs_assets` once: it fetches each
asset's npm package at the version GE's templates name (`npm pack`, the ordinary client) and
keeps the files under the virtual environment (`<venv>/share/csp-data-docs-assets/`, never
committed). After each Data Docs build, `localise_site` copies them into the site's
`static/vendor/` and points the pages at them; the logo is the one GE ships in `static/images/`.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ASSET_DIR = Path(sys.prefix) / "share" / "csp-data-docs-assets"
VEGA = {"vega@5": "vega@5.33.1", "vega-lite@5": "vega-lite@5.23.0", "vega-embed@6":
        "vega-embed@6.29.0"}  # GE names majors only; the newest of each major, pinned here
# URL in GE's templates -> (npm package@version, file inside the package).
ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        ("bootstrap@4.3.1", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        ("bootstrap@4.3.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark@1.1.0", "dist/css/bootstrap-prefers-dark.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css":
        ("bootstrap-datepicker@1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js":
        ("bootstrap-datepicker@1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free@6.6.0", "css/all.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        ("popper.js@1.12.9", "dist/umd/popper.min.js"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery@3.7.1", "dist/jquery.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        ("bootstrap-table@1.19.1", "dist/extensions/filter-control/"
                                   "bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/"
                                   "bootstrap-table-filter-control.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/"
                                   "bootstrap-table-filter-control.css"),
    **{f"https://cdn.jsdelivr.net/npm/{major}": (pinned, f"build/{pinned.split('@')[0]}.min.js")
       for major, pinned in VEGA.items()},
}
EXTRA_FOLDERS = {"@fortawesome/fontawesome-free@6.6.0": "webfonts"}  # all.min.css loads ../webfonts
# Subresource-integrity and CORS attributes make a file:// page refuse its own scripts.
CORS_ATTRIBUTES = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[^\"']*/logo-long\.png[^\"']*")


def local_name(package: str, path: str) -> str:
    """Where an asset lives under static/vendor/: <package@version>/<path in the package>."""
    return f"{package.replace('/', '__')}/{path}"


def install_assets(dest: Path = ASSET_DIR) -> Path:
    """Fetch every asset's npm package (once per package and version) into `dest`."""
    wanted: dict[str, list[str]] = {}
    for package, path in ASSETS.values():
        wanted.setdefault(package, []).append(path)
    for package, folder in EXTRA_FOLDERS.items():
        wanted[package].append(folder + "/")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="csp-npm-") as tmp:
        for package, paths in wanted.items():
            if all((dest / local_name(package, p)).exists() for p in paths):
                continue
            done = subprocess.run(["npm", "pack", package, "--silent"], cwd=tmp,
                                  capture_output=True, text=True, check=True)
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as tar:
                for member in tar.getmembers():
                    inner = member.name.removeprefix("package/")
                    if member.isfile() and any(inner == p or (p.endswith("/") and
                                                              inner.startswith(p))
                                               for p in paths):
                        target = dest / local_name(package, inner)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with tar.extractfile(member) as src, target.open("wb") as out:
                            shutil.copyfileobj(src, out)
            missing = [p for p in paths if not (dest / local_name(package, p)).exists()]
            if missing:
                raise RuntimeError(f"npm package {package} has no {', '.join(missing)}")
    return dest


def localise_site(site: Path, pages: list[Path] | None = None, assets: Path = ASSET_DIR) -> int:
    """Copy the assets into `site/static/vendor/` and point `pages` (default: every page) at
    them and at GE's bundled logo. Returns the number of pages rewritten."""
    if not assets.exists():
        log.warning("Data Docs: assets not installed at %s (run `make install`); the pages "
                    "still load scripts and styles from the network", assets)
        return 0
    vendor = site / "static" / "vendor"
    shutil.copytree(assets, vendor, dirs_exist_ok=True)
    rewritten = 0
    for page in pages if pages is not None else site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = "../" * (len(page.relative_to(site).parts) - 1) or "./"
        new = CORS_ATTRIBUTES.sub("", LOGO.sub(f"{up}static/images/logo-long.png", text))
        for url, (package, path) in ASSETS.items():
            new = new.replace(f'"{url}"', f'"{up}static/vendor/{local_name(package, path)}"')
        if new != text:
            page.write_text(new, encoding="utf-8")
            rewritten += 1
    return rewritten


if __name__ == "__main__":
    print(f"Data Docs assets in {install_assets()}")
