"""Finding landed extracts and fingerprinting them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from csp_pipeline.registry import REJECTS_SUFFIX, Kind, Registry


@dataclass(frozen=True)
class Extract:
    """One landed file of a declared kind."""

    path: Path
    kind: Kind
    extract_date: str  # ISO
    # A released rejects file (<stem>.rejects.csv): its rows are added to the delivery of its
    # kind and date, never replacing it.
    supplementary: bool = False

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


def match(registry: Registry, feed: str, path: Path) -> Extract | None:
    """The landed file as an extract of a declared kind, or None."""
    found = registry.kind_for_file(feed, path)
    if found is None:
        return None
    return Extract(path=path, kind=found[0], extract_date=found[1],
                   supplementary=path.name.endswith(REJECTS_SUFFIX))


def discover(registry: Registry, landing_dir: Path, feed: str, up_to: str | None) -> list[Extract]:
    """Files of the feed's declared kinds with extract date <= up_to, oldest first.

    Older first so that re-sent records end with their latest version whatever the landing order;
    a supplementary file after the delivery it adds to.
    """
    from csp_pipeline.retention import secure_tree

    folder = landing_dir / feed
    secure_tree(folder)  # identifiers inside: readable by the pipeline's user only
    found = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        extract = match(registry, feed, path)
        if extract and (up_to is None or extract.extract_date <= up_to):
            found.append(extract)
    return sorted(found, key=lambda e: (e.extract_date, e.kind.name, e.supplementary))
