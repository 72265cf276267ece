"""Finding landed extracts and fingerprinting them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from csp_pipeline.registry import Kind, Registry


@dataclass(frozen=True)
class Extract:
    """One landed file of a declared kind."""

    path: Path
    kind: Kind
    extract_date: str  # ISO

    @property
    def label(self) -> str:
        return f"{self.kind.feed}/{self.path.name}"


def fingerprint(path: Path) -> str:
    """sha256 of the file's bytes, streamed (about 1.4 GB/s here)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(registry: Registry, landing_dir: Path, feed: str, up_to: str | None) -> list[Extract]:
    """Files of the feed's declared kinds with extract date <= up_to, oldest first.

    Older first so that re-sent records end with their latest version whatever the landing order.
    """
    from csp_pipeline.retention import secure_tree

    folder = landing_dir / feed
    secure_tree(folder)  # identifiers inside: readable by the pipeline's user only
    found = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        match = registry.kind_for_file(feed, path)
        if match and (up_to is None or match[1] <= up_to):
            found.append(Extract(path=path, kind=match[0], extract_date=match[1]))
    return sorted(found, key=lambda e: (e.extract_date, e.kind.name))
