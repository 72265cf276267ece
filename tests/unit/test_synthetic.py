"""The synthetic extract generator: layout, determinism, re-sends, linkage, plausibility, dirt."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from csp_pipeline.core.reference import reference_values
from csp_pipeline.core.registry import Kind, load_registry
from csp_pipeline.ingest.landing import match
from csp_pipeline.synthetic import MANIFEST, NOT_SYNTHESISED, generate
from csp_pipeline.synthetic.dirt import __doc__ as DIRT_DOC
from csp_pipeline.synthetic.dirt import spoil

REGISTRY = load_registry()
START, END = date(2023, 1, 1), date(2024, 6, 30)
PARSE = {"DATE": "%Y-%m-%d", "MONTH": "%Y-%m", "TIMESTAMP": "%Y-%m-%dT%H:%M:%S"}
DEFECTS = set(re.findall(r"^    ([a-z_0-9]+) ", DIRT_DOC or "", re.M))


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def extract_date(path: Path) -> date:
    return datetime.strptime(path.stem.rsplit("_", 1)[1], "%Y%m%d").date()


def files(root: Path, kind: Kind) -> list[Path]:
    return sorted((root / kind.feed).glob(f"{kind.name}_*.csv"))


def sends(root: Path, kind: Kind) -> list[tuple[date, dict[str, str]]]:
    """Every row of every file of a kind, with its extract date, in delivery order."""
    return [(extract_date(p), row) for p in files(root, kind) for row in read(p)[1]]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("clean")
    return root, generate(root, START, END, scale=0.1, seed=3)


def test_every_kind_is_written_with_the_registry_header(clean):
    root, counts = clean
    synthesised = [k for k in REGISTRY.kinds if (k.feed, k.name) not in NOT_SYNTHESISED]
    assert set(counts) == {f"{k.feed}/{k.name}" for k in synthesised}
    for kind in synthesised:
        paths = files(root, kind)
        assert paths, f"no {kind.id} files"
        for p in paths:
            assert read(p)[0] == kind.column_names, p
            assert START <= extract_date(p) <= END
        assert counts[f"{kind.feed}/{kind.name}"] == sum(len(read(p)[1]) for p in paths)
        assert counts[f"{kind.feed}/{kind.name}"] > 0, kind.id


def test_daily_kinds_arrive_every_night_and_periodic_ones_on_their_cadence(clean):
    root, _ = clean
    nights = (END - START).days + 1
    for feed, kind in [("police", "crimes"), ("fire", "incidents"),
                       ("substance_misuse", "treatment_episodes"), ("youth_justice", "outcomes")]:
        assert len(files(root, REGISTRY.kind(feed, kind))) == nights
    assert len(files(root, REGISTRY.kind("education", "neet"))) == 18  # month ends
    assert len(files(root, REGISTRY.kind("education", "attendance"))) == 4  # term ends
    assert len(files(root, REGISTRY.kind("youth_justice", "board_attendance"))) == 6  # quarterly
    boards = sends(root, REGISTRY.kind("youth_justice", "board_attendance"))
    per_meeting = defaultdict(set)
    for _, r in boards:
        per_meeting[(r["MEETING_DATE"], r["LA_CODE"])].add(r["PARTNER"])
    assert all(len(p) == 5 for p in per_meeting.values()) and len(per_meeting) == 24


def test_clean_values_obey_the_registry(clean):
    references = {c.reference: set(reference_values(c.reference))
                  for k in REGISTRY.kinds for c in k.columns if c.reference}
    root, _ = clean
    for kind in REGISTRY.kinds:
        for p in files(root, kind):
            night = extract_date(p)
            _, rows = read(p)
            keys = [tuple(r[k] for k in kind.key) for r in rows]
            assert len(keys) == len(set(keys)), f"{p.name}: business key repeats"
            for col in kind.columns:
                for i, row in enumerate(rows, start=1):
                    v = row[col.name]
                    where = f"{p.name} row {i} {col.name}={v!r}"
                    if v == "":
                        assert not col.required, where
                        continue
                    if col.values:
                        assert v in col.values, where
                    if col.reference:
                        assert v in references[col.reference], where
                    if col.pattern:
                        assert re.search(col.pattern, v), where
                    if col.type in PARSE:
                        parsed = datetime.strptime(v, PARSE[col.type])
                        assert parsed.date() <= night, f"{where} is after the extract date"
                    if col.type in ("INTEGER", "DOUBLE"):
                        number = float(v)
                        assert col.min is None or number >= col.min, where
                        assert col.max is None or number <= col.max, where
            for rule in kind.rules:  # ISO dates compare as text, counts as numbers
                for row in rows:
                    a, b = (_comparable(row[c]) for c in (rule.a, rule.b))
                    assert a == "" or b == "" or a >= b, f"{p.name}: {rule} in {row}"


def _comparable(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def test_clean_run_has_an_empty_dirt_manifest(clean):
    root, _ = clean
    assert json.loads((root / MANIFEST).read_text()) == []


def _changed(history: list[tuple[date, dict[str, str]]], key: str) -> dict[str, list[dict]]:
    by_key = defaultdict(list)
    for night, row in history:
        by_key[row[key]].append((night, row))
    return {k: [r for _, r in v] for k, v in by_key.items()
            if len(v) > 1 and len({n for n, _ in v}) == len(v)}


def test_police_incidents_are_resent_with_a_new_outcome(clean):
    root, _ = clean
    resent = _changed(sends(root, REGISTRY.kind("police", "crimes")), "Incident ID")
    recorded_in_range = [v for v in resent.values() if v[0]["Recorded date"] >= START.isoformat()]
    assert len(recorded_in_range) > 100
    for versions in resent.values():
        assert len({v["Recorded date"] for v in versions}) == 1
    for versions in recorded_in_range:
        assert versions[0]["Last outcome category"] == "Under investigation"
        outcomes = [v["Last outcome category"] for v in versions]
        assert len(set(outcomes)) == len(outcomes), "a re-send must change the outcome"
        assert len({v["Crime ID"] for v in versions}) == 1


def test_treatment_episodes_are_resent_when_they_close(clean):
    root, _ = clean
    history = sends(root, REGISTRY.kind("substance_misuse", "treatment_episodes"))
    resent = _changed(history, "EPISODID")
    assert len(resent) > 50
    for first, closed in resent.values():
        assert first["DISD"] == first["DISRSN"] == "" and closed["DISD"] and closed["DISRSN"]
        assert first["CLIENTID"] == closed["CLIENTID"] and first["TRIAGED"] == closed["TRIAGED"]
    episodes = {r["EPISODID"]: r for _, r in history}
    closed = [r for r in episodes.values() if r["DISRSN"]]
    success = sum(r["DISRSN"].startswith("Treatment completed") for r in closed) / len(closed)
    assert 0.3 < success < 0.6
    young = {r["CLIENTID"] for r in episodes.values()
             if (date.fromisoformat(r["TRIAGED"]) - date.fromisoformat(r["DOB"])).days < 18 * 365}
    assert young, "the young people's service has clients"


def test_orders_are_resent_at_their_end_with_the_kpi_fields(clean):
    root, _ = clean
    resent = _changed(sends(root, REGISTRY.kind("youth_justice", "outcomes")), "OUTCOME_ID")
    assert len(resent) > 10
    for first, ended in resent.values():
        assert first["END_DATE"] == "" and ended["END_DATE"] >= ended["START_DATE"]
        if ended["OUTCOME_TYPE"] != "Remand to Youth Detention Accommodation":
            assert ended["PROGRAMME_COMPLETED"] in ("Y", "N")
            assert first["PROGRAMME_COMPLETED"] == ""


def test_youth_justice_children_are_10_to_17_and_link_to_other_feeds(clean):
    root, _ = clean
    children = {r["CHILD_ID"]: r for _, r in sends(root, REGISTRY.kind("youth_justice", "children"))}
    outcomes = [r for _, r in sends(root, REGISTRY.kind("youth_justice", "outcomes"))]
    given = [o for o in outcomes if o["OUTCOME_DATE"] >= START.isoformat()]
    assert len(given) > 20
    for o in given:  # (an order given before the range is sent when it ends, its child was not)
        dob, day = (date.fromisoformat(v) for v in (children[o["CHILD_ID"]]["DATE_OF_BIRTH"],
                                                     o["OUTCOME_DATE"]))
        assert 10 <= _age(dob, day) <= 17, o
    pupils = {r["UPN"] for _, r in sends(root, REGISTRY.kind("education", "attendance"))} | \
        {r["UPN"] for _, r in sends(root, REGISTRY.kind("education", "exclusions"))}
    with_upn = [c for c in children.values() if c["UPN"]]
    assert sum(c["UPN"] in pupils for c in with_upn) / len(children) > 0.5
    neet = {r["PERSON_ID"] for _, r in sends(root, REGISTRY.kind("education", "neet"))}
    clients = {r["CLIENTID"] for _, r in
               sends(root, REGISTRY.kind("substance_misuse", "treatment_episodes"))}
    assert children.keys() & neet, "some youth justice children are tracked for NEET"
    assert children.keys() & clients, "some youth justice children are in treatment"


def _age(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def _generate_files(root: Path, start: date, end: date, **kw) -> dict[str, bytes]:
    generate(root, start, end, **kw)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_arguments_give_identical_bytes_and_a_subrange_the_same_nights(tmp_path):
    # Spans a term end (28 Mar 2024 is a Thursday), a month end and school days.
    kw = {"scale": 0.05, "seed": 11}
    full = _generate_files(tmp_path / "a", date(2024, 3, 20), date(2024, 4, 3), **kw)
    again = _generate_files(tmp_path / "b", date(2024, 3, 20), date(2024, 4, 3), **kw)
    assert full == again
    part = _generate_files(tmp_path / "c", date(2024, 3, 26), date(2024, 4, 1), **kw)
    nights = {f"{d:%Y%m%d}" for d in (date(2024, 3, 26) + timedelta(n) for n in range(7))}
    expected = {name: data for name, data in full.items() if name[-12:-4] in nights}
    assert part == expected
    other_seed = _generate_files(tmp_path / "d", date(2024, 3, 26), date(2024, 4, 1),
                                 scale=0.05, seed=12)
    assert other_seed != part


def test_hartlepool_fires_are_plausible_at_scale_one(tmp_path):
    generate(tmp_path, date(2023, 6, 1), date(2023, 8, 31), scale=1.0, seed=5)
    months = defaultdict(lambda: [0, 0])
    for _, r in sends(tmp_path, REGISTRY.kind("fire", "incidents")):
        if r["LA_CODE"] == "E06000001" and r["INCIDENT_TYPE"].endswith("fire"):
            months[r["CALL_DATETIME"][:7]][0] += 1
            months[r["CALL_DATETIME"][:7]][1] += r["ACCIDENTAL_OR_DELIBERATE"] == "Deliberate"
    assert len(months) == 3
    for fires, deliberate in months.values():
        assert 70 <= fires <= 120
        assert deliberate / fires > 0.7
    crimes = sum(1 for _, r in sends(tmp_path, REGISTRY.kind("police", "crimes"))
                 if r["Ward code"] in _hartlepool_wards()
                 and r["Last outcome category"] in ("", "Under investigation"))
    assert 3 * 1000 <= crimes <= 3 * 1250


def _hartlepool_wards() -> set[str]:
    from csp_pipeline.synthetic.areas import areas

    return {w.code for a in areas() if a.la_code == "E06000001" for w in a.wards}


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("dirty")
    generate(root, date(2024, 3, 18), date(2024, 4, 5), scale=0.2, seed=8, dirty=0.6)
    return root, json.loads((root / MANIFEST).read_text())


def test_dirty_run_lists_one_defect_per_damaged_file(dirty):
    root, manifest = dirty
    with_rows = [p for p in root.rglob("*.csv") if len(p.read_bytes().rstrip(b"\n").split(b"\n")) > 1]
    assert 0.4 < len(manifest) / len(with_rows) < 0.8  # empty files ("nothing today") stay clean
    assert len({d["file"] for d in manifest}) == len(manifest), "one defect per file"
    assert len({d["defect"] for d in manifest}) >= 7
    assert {d["defect"] for d in manifest} <= DEFECTS


def test_each_listed_defect_is_in_its_file_and_other_files_are_clean(dirty):
    root, manifest = dirty
    listed = {d["file"]: d for d in manifest}
    for path in sorted(root.rglob("*.csv")):
        kind = match(REGISTRY, path.parent.name, path).kind
        d = listed.get(str(path.relative_to(root)))
        if d is None:
            assert read(path)[0] == kind.column_names
        else:
            assert_defect(kind, d, path.read_bytes(), extract_date(path))


def test_every_defect_applies_to_youth_justice_children(clean):
    """Driven directly on real rows: each defect, including the out-of-range age, is made."""
    root, _ = clean
    kind = REGISTRY.kind("youth_justice", "children")
    rows = [tuple(r.values()) for _, r in sends(root, kind)][:5]
    seen = set()
    for n in range(80):
        night = date(2024, 1, 1) + timedelta(days=n)
        d = spoil(kind, rows, night, seed=1)
        assert_defect(kind, d.describe(), d.data, night)
        seen.add(d.defect)
    assert seen == DEFECTS - {"impossible_date", "future_date"}  # children carry no event date


def assert_defect(kind: Kind, d: dict, data: bytes, night: date) -> None:
    if d["defect"] == "non_utf8":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        return
    text = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header, rows = text[0], text[1:]
    row = rows[d["rows"][0] - 1] if d["rows"] else []
    col = header.index(d["column"]) if d["column"] in header else -1
    match d["defect"]:
        case "renamed_column":
            assert header != kind.column_names and d["value"] in header
        case "truncated":
            assert not data.endswith(b"\n") and len(rows[-1]) < len(header)
        case "duplicate_row":
            assert rows[d["rows"][0] - 1] == rows[d["rows"][1] - 1]
        case "bad_code":
            column = kind.column(d["column"])
            assert row[col] not in (column.values or reference_values(column.reference))
        case "missing_key":
            assert d["column"] in kind.key and row[col] == ""
        case "impossible_date":
            with pytest.raises(ValueError):
                date.fromisoformat(row[col])
        case "future_date":
            assert date.fromisoformat(row[col][:10]) > night
        case "age_out_of_range":
            assert _age(date.fromisoformat(row[col]), night) in (9, 18)
        case other:
            pytest.fail(f"untested defect {other}")
