"""A landed file: what its name says (kind, extract date, stream), its header, its bytes
(fingerprint, a UTF-8 working copy) and its permissions. The one place a file name is read.

A file name is matched against the feed's kinds, each with its own pattern (`Kind.file_pattern`)
and its partners' variants (`Variant.files`). `<name>.rejects.csv` (rejected rows released after a
fix) is a supplementary delivery of `<name>.csv`: its rows are added to that delivery.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

from csp_pipeline.core.registry import REJECTS_SUFFIX, Kind, Registry, Variant, file_pattern

log = logging.getLogger(__name__)

DIR_MODE, FILE_MODE = 0o700, 0o600
MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


@dataclass(frozen=True)
class Extract:
    """One landed file of a declared kind."""

    path: Path
    kind: Kind
    extract_date: str  # ISO
    stream: str  # a delivery replaces the earlier ones of its kind, extract date and stream
    variant: Variant | None = None
    supplementary: bool = False  # released rejected rows: added to the delivery, never replacing

    @property
    def label(self) -> str:
        return f"{self.kind.feed}/{self.path.name}"

    @property
    def encoding(self) -> str:
        return self.variant.encoding if self.variant else self.kind.encoding


def _date_from(groups: dict[str, str]) -> str | None:
    """ISO extract date from a name's groups: `date` (YYYYMMDD), or `year` and `month` (the
    month's last day). None when the name holds no real date."""
    try:
        if groups.get("date"):
            d = groups["date"]
            return date(int(d[:4]), int(d[4:6]), int(d[6:])).isoformat()
        month = groups["month"]
        m = int(month) if month.isdigit() else MONTH_NAMES[month.lower()]
        year = int(groups["year"])
        return date(year, m, calendar.monthrange(year, m)[1]).isoformat()
    except (KeyError, ValueError):
        return None


def match(registry: Registry, feed: str, path: Path) -> Extract | None:
    """The landed file at `path` as an extract of one of the feed's kinds, or None."""
    name, supplementary = path.name, False
    if name.endswith(REJECTS_SUFFIX):
        name, supplementary = name.removesuffix(REJECTS_SUFFIX) + ".csv", True
    for kind in registry.kinds_of(feed):
        layouts: list[tuple[re.Pattern, Variant | None]] = [(kind.file_pattern, None)]
        layouts += [(file_pattern(v.files), v) for v in kind.variants]
        for pattern, variant in layouts:
            m = pattern.match(name)
            if not m:
                continue
            extract_date = _date_from(m.groupdict())
            if extract_date is None:
                continue
            stream = m.groupdict().get("stream") or (variant.name if variant else kind.name)
            return Extract(path=path, kind=kind, extract_date=extract_date, stream=stream,
                           variant=variant, supplementary=supplementary)
    return None


class LandingMissing(FileNotFoundError):
    """The landing folder itself does not exist (a wrong CSP_LANDING_DIR, an unmounted share)."""


def discover(registry: Registry, landing_dir: Path, feed: str, up_to: str | None) -> list[Extract]:
    """Files of the feed's declared kinds with extract date <= up_to, oldest first.

    Older first so that re-sent records end with their latest version whatever the landing order;
    a supplementary delivery after the delivery it adds to. Symbolic links are never read (see
    `unrecognised`). A missing landing folder is an error, not an empty night.
    """
    if not landing_dir.is_dir():
        raise LandingMissing(f"the landing folder {landing_dir} does not exist (CSP_LANDING_DIR)")
    folder = landing_dir / feed
    secure_tree(folder)  # identifiers inside: readable by the pipeline's user only
    found = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() and not folder.is_symlink() else []:
        if path.is_symlink():
            continue
        extract = match(registry, feed, path)
        if extract and (up_to is None or extract.extract_date <= up_to):
            found.append(extract)
    return sorted(found, key=lambda e: (e.extract_date, e.kind.name, e.supplementary, e.path.name))


def unrecognised(registry: Registry, landing_dir: Path,
                 feed: str | None = None) -> list[tuple[Path, str]]:
    """Everything in the landing zone (or one feed's folder) that is not a declared extract, with
    why: a symbolic link (never followed), a name with a space or non-ASCII character, a name no
    declared kind matches (a wrong date format, an undeclared kind), a folder that is no feed.
    Such files are reported (log, `csp status`, an alert) and left where they are."""
    if not landing_dir.is_dir():
        return []
    feeds = [feed] if feed else registry.feeds
    found: list[tuple[Path, str]] = []
    if feed is None:
        found += [(p, "not a declared feed's folder" if p.is_dir() and not p.is_symlink() else
                   _why(p, "files belong in a feed's folder (landing/<feed>/)"))
                  for p in sorted(landing_dir.iterdir()) if p.name not in feeds]
    for name in feeds:
        folder = landing_dir / name
        if folder.is_symlink():
            found.append((folder, _why(folder, "")))
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_symlink() or match(registry, name, path) is None:
                examples = " or ".join(k.file_name("2024-05-31") for k in registry.kinds_of(name))
                found.append((path, _why(path, f"not a declared {name} extract name (expected "
                                               f"e.g. {examples})")))
    return found


def _why(path: Path, otherwise: str) -> str:
    if path.is_symlink():
        return "a symbolic link: refused, never followed"
    if not path.name.isascii() or any(c.isspace() for c in path.name):
        return "its name has a space or a non-ASCII character"
    return otherwise


def fingerprint(path: Path) -> str:
    """sha256 of the file's bytes, streamed (about 1.4 GB/s here)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def known_fingerprint(con, path: Path) -> str:
    """`fingerprint(path)`, read once while the file stays as it is: a loaded file stays in the
    landing zone (and is found again every night) until retention deletes it, so its digest is
    kept in meta.fingerprints with the file's size, modification and change times and inode, as
    git keeps its index. Any write to the file, or a rename or copy over it, moves its change
    time, which no tool can set back. A file whose change time is not STAMP_SETTLE_NS older
    than the end of its hashing is hashed again next time: a later write in the same tick of a
    coarse file system clock (a second at worst) would not show."""
    stamp = _stamp(path)
    known = con.execute("SELECT content_hash FROM meta.fingerprints WHERE path = ? AND bytes = ? "
                        "AND modified_ns = ? AND changed_ns = ? AND inode = ?",
                        [str(path), *stamp]).fetchone()
    if known:
        return known[0]
    digest = fingerprint(path)
    if _stamp(path) == stamp and time.time_ns() - stamp[2] > STAMP_SETTLE_NS:
        con.execute("DELETE FROM meta.fingerprints WHERE path = ?", [str(path)])
        con.execute("INSERT INTO meta.fingerprints VALUES (?, ?, ?, ?, ?, ?)",
                    [str(path), *stamp, digest])
    return digest


STAMP_SETTLE_NS = 1_000_000_000


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def forget_missing_fingerprints(con) -> None:
    """Drop the remembered digests of files no longer there (deleted, quarantined)."""
    gone = [p for (p,) in con.execute("SELECT path FROM meta.fingerprints").fetchall()
            if not Path(p).exists()]
    if gone:
        con.executemany("DELETE FROM meta.fingerprints WHERE path = ?", [[p] for p in gone])


def read_header(path: Path, encoding: str = "utf-8") -> list[str]:
    """The header row's column names (a UTF-8 byte-order mark is accepted)."""
    with path.open("rb") as fh:
        first = fh.readline()
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    text = first.decode(codec, errors="replace").rstrip("\r\n")
    return next(csv.reader([text]), [])


@contextmanager
def utf8_copy(extract: Extract, work_dir: Path) -> Iterator[Path]:
    """The extract as UTF-8: the file itself, or a streamed transcode of it into an owner-only
    working copy (deleted afterwards) when the kind or variant declares another encoding.
    DuckDB's own encodings extension cannot be installed offline, so Python transcodes."""
    if codecs.lookup(extract.encoding).name == "utf-8":
        yield extract.path
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(work_dir, DIR_MODE)
    fd, name = tempfile.mkstemp(prefix=extract.path.stem + ".", suffix=".utf8.csv", dir=work_dir)
    copy = Path(name)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out, \
                extract.path.open(encoding=extract.encoding, newline="") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def secure_tree(path: Path) -> None:
    """Make a folder (recursively) or a file readable and writable by its owner only.

    Symbolic links are neither followed nor changed. A file the pipeline's user does not own
    (a partner's upload account) cannot be changed: that is logged, not fatal.
    """
    if not path.exists() or path.is_symlink():
        return
    items = [path] + (sorted(path.rglob("*")) if path.is_dir() else [])
    for item in items:
        if item.is_symlink():
            continue
        mode = DIR_MODE if item.is_dir() else FILE_MODE
        try:
            if stat.S_IMODE(item.stat().st_mode) != mode:
                os.chmod(item, mode)
        except PermissionError:
            log.warning("cannot restrict %s to its owner (owned by uid %s)", item,
                        item.stat().st_uid)
