"""Disclosure control on real DuckDB tables shaped like the contract marts.

The recovery check is an attacker: it takes only what is published (shown cells, which cells are
suppressed, the public rule that suppressed cells are non-zero) and the additive relations any
reader knows (totals, remainders, equal cells), and searches integer solutions. A suppressed
cell (or a small unpublished remainder) is disclosed if every solution gives it the same value.
The relations are written here from the marts' meaning, independently of disclosure.yml.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Hashable

import duckdb
import pytest
import yaml

from csp_pipeline.core.settings import DBT_PROJECT_DIR
from csp_pipeline.publish.disclosure import DisclosureError, load_policy, protect_mart

CONTRACT_PERSON_MARTS = ["cs_substance_misuse_outcomes", "cs_education_termly", "cs_neet_monthly",
                         "yj_first_time_entrants", "yj_reoffending", "yj_custody",
                         "yj_kpi_quarterly", "yj_disproportionality"]
CONTRACT_PLACE_MARTS = ["cs_fire_economic_cost_monthly", "cs_fire_hotspot_wards_monthly",
                        "cs_crime_monthly"]
SCHEMAS = {
    "cs_substance_misuse_outcomes": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "period_end": "DATE", "period_start": "DATE",
        "substance_group": "VARCHAR", "sort_order": "INTEGER", "in_treatment": "INTEGER",
        "successful_completions": "INTEGER", "successful_completion_pct": "DECIMAL(5,1)",
        "representations": "INTEGER", "non_representation_pct": "DECIMAL(5,1)",
        "is_complete_window": "BOOLEAN"},
    "yj_custody": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "financial_year": "VARCHAR",
        "period_start": "DATE", "period_end": "DATE", "custodial_sentences": "BIGINT",
        "remands": "BIGINT", "population_10_17": "INTEGER", "custody_rate_per_1000": "DOUBLE",
        "period_complete": "BOOLEAN"},
    "yj_reoffending": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "cohort_quarter": "DATE",
        "cohort_size": "BIGINT", "reoffenders": "BIGINT", "reoffences": "BIGINT",
        "binary_rate_pct": "DOUBLE", "reoffences_per_reoffender": "DOUBLE",
        "tracking_complete": "BOOLEAN"},
    "yj_kpi_quarterly": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "quarter": "DATE", "kpi_code": "VARCHAR",
        "kpi_name": "VARCHAR", "numerator": "BIGINT", "denominator": "BIGINT",
        "value_pct": "DOUBLE", "value_unit": "VARCHAR", "period_complete": "BOOLEAN"},
    "yj_disproportionality": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "period_start": "DATE", "period_end": "DATE",
        "ethnicity": "VARCHAR", "cohort_count": "BIGINT", "cohort_share_pct": "DOUBLE",
        "population_10_17_share_pct": "DOUBLE", "relative_rate_index": "DOUBLE",
        "population_10_17": "INTEGER"},
    "cs_neet_monthly": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "month": "DATE", "cohort": "INTEGER",
        "neet": "INTEGER", "not_known": "INTEGER", "neet_pct": "DECIMAL(5,1)",
        "not_known_pct": "DECIMAL(5,1)"},
    "cs_crime_monthly": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "month": "DATE", "crime_type": "VARCHAR",
        "incidents": "BIGINT", "incidents_previous_year": "BIGINT", "pct_change": "DOUBLE",
        "direction": "VARCHAR", "rolling_12m": "BIGINT", "rate_per_1000_population": "DOUBLE"},
    "cs_fire_monthly_performance": {
        "la_code": "VARCHAR", "la_name": "VARCHAR", "month": "DATE", "indicator": "VARCHAR",
        "sort_order": "INTEGER", "value": "BIGINT", "value_previous_year": "BIGINT",
        "pct_change": "DOUBLE", "direction": "VARCHAR"},
}
SUBSTANCE_GROUPS = ["Opiate", "Non-opiate only", "Non-opiate and alcohol", "Alcohol only",
                    "Not recorded"]
ETHNICITIES = ["White", "Mixed", "Asian", "Black", "Other"]
END_OF_ORDER = ["ACCOMMODATION", "ETE", "SEND", "MENTAL_HEALTH", "SUBSTANCE_MISUSE",
                "WIDER_SERVICES"]


def create(con: duckdb.DuckDBPyConnection, mart: str, rows: list[dict]) -> None:
    cols = SCHEMAS[mart]
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(f"CREATE OR REPLACE TABLE marts.{mart} ("
                + ", ".join(f"{c} {t}" for c, t in cols.items()) + ")")
    con.executemany(f"INSERT INTO marts.{mart} VALUES ({', '.join('?' * len(cols))})",
                    [[r.get(c) for c in cols] for r in rows])


def published(con: duckdb.DuckDBPyConnection, mart: str) -> list[dict]:
    cur = con.execute(f"SELECT * FROM marts.{mart}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def pct(n: int, d: int, digits: int = 1) -> float | None:
    return round(100.0 * n / d, digits) if d else None


# ------------------------------------------------------------------------ the recovery check


@dataclass
class Knowledge:
    """What a reader of the published table knows: shown values, which cells are suppressed (each
    at least 1, since zeros are shown), and linear relations sum(coef * cell) == 0 between
    published cells and unpublished remainders (each at least 0)."""

    shown: dict[Hashable, int]
    suppressed: set[Hashable]
    relations: list[list[tuple[int, Hashable]]]


def disclosed(k: Knowledge, truth: dict[Hashable, int], watch: set[Hashable]) -> list:
    """The watched unknowns (suppressed cells, small remainders) that every integer solution
    consistent with the published knowledge pins to a single value."""
    big = 10 * (max(truth.values(), default=0) + 10)
    unknown = {v for rel in k.relations for _, v in rel if v not in k.shown} | k.suppressed
    lower = {v: (1 if v in k.suppressed else 0) for v in unknown}
    eqs = []
    for rel in k.relations:
        const = -sum(c * k.shown[v] for c, v in rel if v in k.shown)
        eqs.append(([(c, v) for c, v in rel if v not in k.shown], const))
    by_var = defaultdict(list)
    for e in eqs:
        for _, v in e[0]:
            by_var[v].append(e)

    def component(start) -> tuple[set, list]:
        seen, todo, rels = {start}, [start], []
        while todo:
            for e in by_var[todo.pop()]:
                if e not in rels:
                    rels.append(e)
                    for _, v in e[0]:
                        if v not in seen:
                            seen.add(v)
                            todo.append(v)
        return seen, rels

    def propagate(bounds: dict, rels: list) -> bool:
        changed = True
        while changed:
            changed = False
            for terms, const in rels:
                lo = sum(min(c * bounds[v][0], c * bounds[v][1]) for c, v in terms)
                hi = sum(max(c * bounds[v][0], c * bounds[v][1]) for c, v in terms)
                if lo > const or hi < const:
                    return False
                for c, v in terms:
                    vlo, vhi = bounds[v]
                    rest_lo = lo - min(c * vlo, c * vhi)
                    rest_hi = hi - max(c * vlo, c * vhi)
                    a, b = const - rest_hi, const - rest_lo  # range of c * v
                    new = (max(vlo, a), min(vhi, b)) if c == 1 else (max(vlo, -b), min(vhi, -a))
                    if new[0] > new[1]:
                        return False
                    if new != (vlo, vhi):
                        bounds[v] = new
                        changed = True
        return True

    def solve(bounds: dict, rels: list) -> dict | None:
        bounds = dict(bounds)
        if not propagate(bounds, rels):
            return None
        free = [v for v in bounds if bounds[v][0] < bounds[v][1]]
        if not free:
            sol = {v: b[0] for v, b in bounds.items()}
            ok = all(sum(c * sol[v] for c, v in terms) == const for terms, const in rels)
            return sol if ok else None
        v = min(free, key=lambda x: bounds[x][1] - bounds[x][0])
        lo, hi = bounds[v]
        return solve({**bounds, v: (lo, lo)}, rels) or solve({**bounds, v: (lo + 1, hi)}, rels)

    pinned, cleared = [], set()
    for v in sorted(watch, key=str):
        if v in cleared:
            continue
        vars_, rels = component(v)
        bounds = {x: (lower[x], big) for x in vars_}
        t = truth[v]
        assert solve(bounds, rels) is not None, f"the truth must satisfy the relations ({v})"
        for lo, hi in ((lower[v], t - 1), (t + 1, big)):
            sol = solve({**bounds, v: (lo, hi)}, rels) if lo <= hi else None
            if sol:
                cleared |= {x for x in sol if sol[x] != truth[x]}
                break
        else:
            pinned.append((v, t))
    return pinned


def knowledge_of(rows: list[dict], key: tuple[str, ...], counts: list[str]) -> Knowledge:
    shown, suppressed = {}, set()
    for r in rows:
        rk = tuple(r[k] for k in key)
        for c in counts:
            if r[c + "_suppressed"]:
                assert r[c] is None
                suppressed.add((rk, c))
            elif r[c] is not None:
                shown[(rk, c)] = r[c]
    return Knowledge(shown=shown, suppressed=suppressed, relations=[])


def truth_of(rows: list[dict], key: tuple[str, ...], counts: list[str]) -> dict:
    return {(tuple(r[k] for k in key), c): r[c] for r in rows for c in counts}


def check_nothing_recoverable(original: list[dict], out: list[dict], key: tuple[str, ...],
                              counts: list[str], add_relations) -> int:
    """Build the reader's knowledge, add the mart's relations, assert nothing is pinned.
    Returns how many unknowns were checked (so a test can see the check had work to do)."""
    k = knowledge_of(out, key, counts)
    truth = truth_of(original, key, counts)
    add_relations(k, truth, {tuple(r[c] for c in key): r for r in original})
    watch = set(k.suppressed) | {v for v in truth if isinstance(v, tuple) and v[-1] == "rest"
                                 and 0 < truth[v] < 5}
    pinned = disclosed(k, truth, watch)
    assert not pinned, f"recoverable from the published table: {pinned[:10]}"
    return len(watch)


def test_the_recovery_check_catches_a_lone_suppressed_cell():
    # A naive publication (primary suppression only) is caught: the check is able to fail.
    k = Knowledge(shown={"a": 7, "total": 10}, suppressed={"b"},
                  relations=[[(1, "a"), (1, "b"), (-1, "total")]])
    assert disclosed(k, {"a": 7, "b": 3, "total": 10}, {"b"}) == [("b", 3)]
    # two suppressed cells of 1 that sum to 2 are both pinned by "suppressed means at least 1"
    k = Knowledge(shown={"a": 7, "total": 9}, suppressed={"b", "c"},
                  relations=[[(1, "a"), (1, "b"), (1, "c"), (-1, "total")]])
    assert len(disclosed(k, {"a": 7, "b": 1, "c": 1, "total": 9}, {"b", "c"})) == 2
    k.shown["total"], k.shown["a"] = 12, 8
    assert disclosed(k, {"a": 8, "b": 1, "c": 3, "total": 12}, {"b", "c"}) == []


# ------------------------------------------------------------------------ primary and rates


def test_counts_of_1_to_4_are_suppressed_zeros_and_5_shown_and_their_rates_follow():
    con = duckdb.connect()
    counts = [0, 1, 2, 3, 4, 5, 12]
    create(con, "yj_custody", [
        {"la_code": f"E0600000{i}", "la_name": "x", "financial_year": "2023-24",
         "custodial_sentences": n, "remands": 6, "population_10_17": 10_000,
         "custody_rate_per_1000": n / 10, "period_complete": True}
        for i, n in enumerate(counts)])
    result = protect_mart(con, "yj_custody")
    rows = {r["la_code"]: r for r in published(con, "yj_custody")}
    for i, n in enumerate(counts):
        r = rows[f"E0600000{i}"]
        hidden = 1 <= n <= 4
        assert r["custodial_sentences_suppressed"] is hidden
        assert r["custodial_sentences"] == (None if hidden else n)
        assert r["custody_rate_per_1000_suppressed"] is hidden
        assert r["custody_rate_per_1000"] == (None if hidden else n / 10)
        assert r["remands"] == 6 and r["remands_suppressed"] is False
        assert r["population_10_17"] == 10_000  # public column, never touched
    assert (result.primary, result.secondary, result.dependent) == (4, 0, 4)
    # column order: each flag right after its column; types kept
    cols = [d[0] for d in con.execute("SELECT * FROM marts.yj_custody LIMIT 0").description]
    assert cols.index("custodial_sentences_suppressed") == cols.index("custodial_sentences") + 1
    assert con.execute("SELECT typeof(custody_rate_per_1000) FROM marts.yj_custody "
                       "LIMIT 1").fetchone()[0] == "DOUBLE"


def test_place_marts_are_published_as_they_are():
    con = duckdb.connect()
    rows = [{"la_code": "E06000001", "la_name": "Hartlepool", "month": date(2024, 5, 1),
             "crime_type": t, "incidents": n, "incidents_previous_year": n,
             "direction": "No change", "rolling_12m": n}
            for t, n in [("Robbery", 1), ("Drugs", 3), ("Shoplifting", 4)]]
    create(con, "cs_crime_monthly", rows)
    before = published(con, "cs_crime_monthly")
    assert protect_mart(con, "cs_crime_monthly").cells == 0
    assert published(con, "cs_crime_monthly") == before


def test_fire_indicators_that_count_people_are_suppressed_fires_are_not():
    con = duckdb.connect()
    rows = [{"la_code": "E06000001", "la_name": "Hartlepool", "month": date(2024, 5, 1),
             "indicator": ind, "sort_order": i, "value": v, "value_previous_year": p,
             "pct_change": pct(v - p, p, 0), "direction": "Increased" if v > p else "Decreased"}
            for i, (ind, v, p) in enumerate([("Total Fires", 2, 1),
                                              ("Accidental Dwelling Fires", 3, 8),
                                              ("Accidental Dwelling Fire Injuries", 2, 0),
                                              ("Accidental Dwelling Fire Fatalities", 0, 1)])]
    create(con, "cs_fire_monthly_performance", rows)
    protect_mart(con, "cs_fire_monthly_performance")
    got = {r["indicator"]: r for r in published(con, "cs_fire_monthly_performance")}
    assert got["Total Fires"]["value"] == 2 and got["Total Fires"]["pct_change"] == 100
    assert got["Accidental Dwelling Fires"]["value"] == 3
    injuries = got["Accidental Dwelling Fire Injuries"]
    assert injuries["value"] is None and injuries["value_suppressed"]
    assert injuries["value_previous_year"] == 0 and injuries["direction_suppressed"]
    deaths = got["Accidental Dwelling Fire Fatalities"]
    assert deaths["value"] == 0 and deaths["value_previous_year"] is None
    assert deaths["pct_change_suppressed"] and deaths["direction"] is None


# ------------------------------------------------------------------------ secondary suppression


def substance_rows(la: str, period_end: date, groups: list[tuple[int, int, int]]) -> list[dict]:
    rows, totals = [], [0, 0, 0]
    for order, (name, (n, sc, rep)) in enumerate(zip(SUBSTANCE_GROUPS, groups, strict=False), start=1):
        totals = [totals[0] + n, totals[1] + sc, totals[2] + rep]
        rows.append((order, name, n, sc, rep))
    rows.append((6, "All substances", *totals))
    return [{"la_code": la, "la_name": la, "period_end": period_end,
             "period_start": date(period_end.year - 1, period_end.month, 1),
             "substance_group": name, "sort_order": order, "in_treatment": n,
             "successful_completions": sc, "successful_completion_pct": pct(sc, n),
             "representations": rep, "non_representation_pct": pct(sc - rep, sc),
             "is_complete_window": True} for order, name, n, sc, rep in rows]


def substance_relations(k: Knowledge, truth: dict, by_key: dict) -> None:
    groups = defaultdict(list)
    for key in by_key:
        groups[key[:2]].append(key)
    for g, keys in groups.items():
        total = g + ("All substances",)
        parts = [x for x in keys if x != total]
        for col in ("in_treatment", "successful_completions", "representations"):
            k.relations.append([(1, (p, col)) for p in parts] + [(-1, (total, col))])
    for key in by_key:  # within a row: in treatment = completed + not; completed = rep + not
        for whole, part, rest in (("in_treatment", "successful_completions", "not_completed"),
                                  ("successful_completions", "representations", "not_returned")):
            r = (key, rest, "rest")
            truth[r] = truth[(key, whole)] - truth[(key, part)]
            k.relations.append([(1, (key, whole)), (-1, (key, part)), (-1, r)])


def test_a_single_suppressed_group_takes_the_next_smallest_non_zero_cell_with_it():
    con = duckdb.connect()
    rows = substance_rows("E06000001", date(2024, 3, 31),
                          [(30, 3, 0), (20, 12, 6), (0, 0, 0), (17, 8, 5), (9, 6, 5)])
    create(con, "cs_substance_misuse_outcomes", rows)
    protect_mart(con, "cs_substance_misuse_outcomes")
    out = {r["substance_group"]: r for r in published(con, "cs_substance_misuse_outcomes")}
    # 3 completions (primary) and the smallest non-zero completions cell of the group (6)
    assert out["Opiate"]["successful_completions"] is None
    assert out["Not recorded"]["successful_completions"] is None
    assert out["Non-opiate and alcohol"]["successful_completions"] == 0  # zeros stay
    assert out["Non-opiate only"]["successful_completions"] == 12
    assert out["All substances"]["successful_completions"] == 29
    assert out["Opiate"]["successful_completion_pct"] is None
    assert out["Not recorded"]["non_representation_pct_suppressed"]
    assert out["Non-opiate only"]["successful_completion_pct"] == pytest.approx(60.0)
    checked = check_nothing_recoverable(rows, published(con, "cs_substance_misuse_outcomes"),
                                        ("la_code", "period_end", "substance_group"),
                                        ["in_treatment", "successful_completions",
                                         "representations"], substance_relations)
    assert checked >= 2


def small_count(rng: random.Random) -> int:
    return rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 40])


def test_no_suppressed_cell_of_substance_outcomes_can_be_recovered_random_groups():
    rng = random.Random(20240531)
    rows = []
    for g in range(120):
        groups = []
        for _ in SUBSTANCE_GROUPS:
            n = small_count(rng)
            sc = rng.randint(0, n)
            groups.append((n, sc, rng.randint(0, sc)))
        rows += substance_rows(f"E0600000{g % 4 + 1}", date(2010 + g // 4, 3, 31), groups)
    con = duckdb.connect()
    create(con, "cs_substance_misuse_outcomes", rows)
    result = protect_mart(con, "cs_substance_misuse_outcomes")
    out = published(con, "cs_substance_misuse_outcomes")
    assert result.secondary > 20  # the random groups did exercise secondary suppression
    counts = ["in_treatment", "successful_completions", "representations"]
    check_primary_rule(rows, out, ("la_code", "period_end", "substance_group"), counts)
    check_nothing_recoverable(rows, out, ("la_code", "period_end", "substance_group"), counts,
                              substance_relations)


def check_primary_rule(original, out, key, counts) -> None:
    """1-4 always hidden, 0 always shown, every other value shown or hidden as itself."""
    by_key = {tuple(r[k] for k in key): r for r in original}
    for r in out:
        src = by_key[tuple(r[k] for k in key)]
        for c in counts:
            if 1 <= src[c] <= 4:
                assert r[c] is None and r[c + "_suppressed"], (src, c)
            elif src[c] == 0:
                assert r[c] == 0 and not r[c + "_suppressed"], (src, c)
            else:
                assert r[c] == (None if r[c + "_suppressed"] else src[c])


def test_reoffending_small_remainder_and_suppressed_reoffenders_are_protected():
    rng = random.Random(7)
    rows = []
    for q in range(200):
        size = small_count(rng)
        reoff = rng.randint(0, size)
        reoffences = reoff * rng.randint(1, 3)
        rows.append({"la_code": f"E0600000{q % 4 + 1}", "la_name": "x",
                     "cohort_quarter": date(2000 + q // 4, 1, 1), "cohort_size": size,
                     "reoffenders": reoff, "reoffences": reoffences,
                     "binary_rate_pct": pct(reoff, size),
                     "reoffences_per_reoffender": round(reoffences / reoff, 2) if reoff else None,
                     "tracking_complete": True})
    rows.append({**rows[0], "cohort_quarter": date(1999, 1, 1), "cohort_size": 9,
                 "reoffenders": 7, "reoffences": 12, "binary_rate_pct": 77.8})
    con = duckdb.connect()
    create(con, "yj_reoffending", rows)
    protect_mart(con, "yj_reoffending")
    out = published(con, "yj_reoffending")
    key, counts = ("la_code", "cohort_quarter"), ["cohort_size", "reoffenders", "reoffences"]
    check_primary_rule(rows, out, key, counts)
    nine = next(r for r in out if r["cohort_quarter"] == date(1999, 1, 1))
    # 2 children who did not reoffend would be 9 - 7: the reoffenders go, and the rate with them
    assert nine["reoffenders"] is None and nine["cohort_size"] == 9
    assert nine["binary_rate_pct"] is None and nine["reoffences_per_reoffender_suppressed"]

    def relations(k: Knowledge, truth: dict, by_key: dict) -> None:
        for rk in by_key:
            rest = (rk, "not_reoffending", "rest")
            truth[rest] = truth[(rk, "cohort_size")] - truth[(rk, "reoffenders")]
            k.relations.append([(1, (rk, "cohort_size")), (-1, (rk, "reoffenders")), (-1, rest)])

    check_nothing_recoverable(rows, out, key, counts, relations)


def test_kpi_rows_sharing_a_denominator_are_suppressed_together():
    rng = random.Random(11)
    rows = []
    for q in range(60):
        base = {"la_code": f"E0600000{q % 4 + 1}", "la_name": "x",
                "quarter": date(2000 + q // 4, 1, 1), "value_unit": "percent",
                "period_complete": True}
        orders = small_count(rng)
        for code in END_OF_ORDER:
            num = rng.randint(0, orders)
            rows.append({**base, "kpi_code": code, "kpi_name": code, "numerator": num,
                         "denominator": orders, "value_pct": pct(num, orders)})
        victims = small_count(rng)
        engaged = rng.randint(0, victims)
        rows.append({**base, "kpi_code": "VICTIMS", "kpi_name": "v", "numerator": engaged,
                     "denominator": victims, "value_pct": pct(engaged, victims)})
        rows.append({**base, "kpi_code": "BOARD_ATTENDANCE", "kpi_name": "b", "numerator": 3,
                     "denominator": 5, "value_pct": 60.0})
        sv = rng.choice([0, 2, 6])
        rows.append({**base, "kpi_code": "SERIOUS_VIOLENCE", "kpi_name": "s", "numerator": sv,
                     "denominator": 9000, "value_pct": round(sv * 100000 / 9000, 1)})
    con = duckdb.connect()
    create(con, "yj_kpi_quarterly", rows)
    protect_mart(con, "yj_kpi_quarterly")
    out = published(con, "yj_kpi_quarterly")
    key = ("la_code", "quarter", "kpi_code")
    for r in out:
        if r["kpi_code"] == "BOARD_ATTENDANCE":  # senior officers at meetings: not children
            assert (r["numerator"], r["denominator"], r["value_pct"]) == (3, 5, 60.0)
        if r["kpi_code"] == "SERIOUS_VIOLENCE":
            assert r["denominator"] == 9000 and not r["denominator_suppressed"]
            assert (r["numerator"] is None) is (r["value_pct"] is None) is (
                r["numerator_suppressed"])
    people = [r for r in rows if r["kpi_code"] not in ("BOARD_ATTENDANCE", "SERIOUS_VIOLENCE")]
    check_primary_rule(people, [r for r in out if r["kpi_code"] not in (
        "BOARD_ATTENDANCE", "SERIOUS_VIOLENCE")], key, ["numerator", "denominator"])
    shared = defaultdict(set)
    for r in out:
        if r["kpi_code"] in END_OF_ORDER:
            shared[(r["la_code"], r["quarter"])].add(r["denominator_suppressed"])
    assert all(len(flags) == 1 for flags in shared.values())
    assert any(flags == {True} for flags in shared.values())

    def relations(k: Knowledge, truth: dict, by_key: dict) -> None:
        for rk, r in by_key.items():
            if r["kpi_code"] in ("BOARD_ATTENDANCE", "SERIOUS_VIOLENCE"):
                continue
            rest = (rk, "not_met", "rest")
            truth[rest] = r["denominator"] - r["numerator"]
            k.relations.append([(1, (rk, "denominator")), (-1, (rk, "numerator")), (-1, rest)])
            if r["kpi_code"] != END_OF_ORDER[0] and r["kpi_code"] in END_OF_ORDER:
                first = rk[:2] + (END_OF_ORDER[0],)
                k.relations.append([(1, (rk, "denominator")), (-1, (first, "denominator"))])

    people_out = [r for r in out if r["kpi_code"] not in ("BOARD_ATTENDANCE", "SERIOUS_VIOLENCE")]
    check_nothing_recoverable(people, people_out, key, ["numerator", "denominator"], relations)


def test_disproportionality_groups_with_a_derivable_total_are_protected():
    rng = random.Random(3)
    rows = []
    for p in range(150):
        counts = {e: small_count(rng) for e in ETHNICITIES}
        known = sum(counts.values())
        for e in [*ETHNICITIES, "Not known"]:
            n = counts.get(e, rng.choice([0, 2, 8]))
            rows.append({"la_code": f"E0600000{p % 4 + 1}", "la_name": "x",
                         "period_start": date(2000 + p // 4, 1, 1),
                         "period_end": date(2000 + p // 4, 12, 31), "ethnicity": e,
                         "cohort_count": n,
                         "cohort_share_pct": pct(n, known) if e != "Not known" else None,
                         "population_10_17_share_pct": 20.0, "relative_rate_index": None,
                         "population_10_17": 1000})
    con = duckdb.connect()
    create(con, "yj_disproportionality", rows)
    result = protect_mart(con, "yj_disproportionality")
    out = published(con, "yj_disproportionality")
    key = ("la_code", "period_end", "ethnicity")
    check_primary_rule(rows, out, key, ["cohort_count"])
    assert result.secondary > 10
    assert all(r["cohort_share_pct"] is None for r in out if r["cohort_count_suppressed"])

    def relations(k: Knowledge, truth: dict, by_key: dict) -> None:
        groups = defaultdict(list)
        for rk in by_key:
            if rk[2] != "Not known":
                groups[rk[:2]].append(rk)
        for g, keys in groups.items():
            # a shown non-zero count and its share reveal the sum of the known ethnicities
            if not any(k.shown.get((rk, "cohort_count")) for rk in keys):
                continue
            total = (g, "known_total")
            k.shown[total] = truth[total] = sum(truth[(rk, "cohort_count")] for rk in keys)
            k.relations.append([(1, (rk, "cohort_count")) for rk in keys] + [(-1, total)])

    check_nothing_recoverable(rows, out, key, ["cohort_count"], relations)


def test_neet_small_remainder_of_young_people_in_education_or_work_is_protected():
    con = duckdb.connect()
    rows = [{"la_code": "E06000001", "la_name": "x", "month": date(2024, m, 1), "cohort": c,
             "neet": n, "not_known": k, "neet_pct": pct(n, c), "not_known_pct": pct(k, c)}
            for m, (c, n, k) in enumerate([(40, 6, 30), (40, 5, 7), (12, 0, 0)], start=1)]
    create(con, "cs_neet_monthly", rows)
    protect_mart(con, "cs_neet_monthly")
    out = {r["month"].month: r for r in published(con, "cs_neet_monthly")}
    assert out[1]["neet"] is None and out[1]["not_known"] == 30  # 40 - 6 - 30 = 4 in EET
    assert out[1]["neet_pct"] is None and out[1]["cohort"] == 40
    assert (out[2]["neet"], out[2]["not_known"], out[2]["neet_pct"]) == (5, 7, 12.5)
    assert (out[3]["cohort"], out[3]["neet"]) == (12, 0)


# ------------------------------------------------------------------------ fail closed


def test_every_contract_mart_is_declared_with_the_right_kind():
    policy = load_policy()
    for mart in CONTRACT_PERSON_MARTS:
        rule = policy.rule(mart)
        assert not rule.places and rule.counts, mart
    for mart in CONTRACT_PLACE_MARTS:
        assert policy.rule(mart).places, mart
    with pytest.raises(DisclosureError, match="not declared"):
        policy.rule("cs_new_mart_nobody_classified")


# Built by dbt but deliberately not published (see disclosure.yml).
WITHHELD = {"cs_neet_annual", "dq_feed_health", "dq_police_attribution"}


def test_every_documented_mart_column_is_classified_and_every_declared_column_exists():
    """The marts' dbt documentation and disclosure.yml agree: an unclassified column would be
    dropped from the snapshot, a declared column that is gone would withhold the whole mart."""
    policy = load_policy()
    documented = {}
    for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            documented[model["name"]] = {c["name"] for c in model.get("columns") or []}
    assert set(documented) - WITHHELD <= set(policy.marts), "classify new marts"
    for mart, columns in documented.items():
        if mart in WITHHELD or policy.rule(mart).places:
            continue
        rule = policy.rule(mart)
        assert columns == rule.declared_columns | rule.condition_columns, mart


def test_undeclared_columns_are_dropped_and_a_missing_declared_column_is_an_error():
    con = duckdb.connect()
    create(con, "yj_custody", [{"la_code": "E06000001", "la_name": "x", "financial_year": "a",
                                "custodial_sentences": 2, "remands": 0}])
    con.execute("ALTER TABLE marts.yj_custody ADD COLUMN child_list VARCHAR DEFAULT 'A, B'")
    result = protect_mart(con, "yj_custody")
    assert result.dropped_columns == ["child_list"]
    cols = {d[0] for d in con.execute("SELECT * FROM marts.yj_custody").description}
    assert "child_list" not in cols and "custodial_sentences_suppressed" in cols

    create(con, "yj_reoffending", [{"la_code": "E06000001", "cohort_quarter": date(2024, 1, 1),
                                    "cohort_size": 3, "reoffenders": 1, "reoffences": 1}])
    con.execute("ALTER TABLE marts.yj_reoffending DROP COLUMN reoffenders")
    with pytest.raises(DisclosureError, match="reoffenders"):
        protect_mart(con, "yj_reoffending")


def test_a_group_whose_only_non_zero_count_is_suppressed_needs_nothing_more(caplog):
    con = duckdb.connect()
    rows = [{"la_code": "E06000001", "la_name": "x", "period_start": date(2023, 4, 1),
             "period_end": date(2024, 3, 31), "ethnicity": e, "cohort_count": n,
             "cohort_share_pct": 100.0 if n else 0.0, "population_10_17_share_pct": 20.0,
             "population_10_17": 1000} for e, n in zip(ETHNICITIES, [3, 0, 0, 0, 0], strict=False)]
    create(con, "yj_disproportionality", rows)
    result = protect_mart(con, "yj_disproportionality")
    out = {r["ethnicity"]: r for r in published(con, "yj_disproportionality")}
    assert out["White"]["cohort_count"] is None and out["White"]["cohort_share_pct"] is None
    assert all(out[e]["cohort_count"] == 0 and out[e]["cohort_share_pct"] == 0.0
               for e in ETHNICITIES[1:])
    assert result.secondary == 0 and "pinned" not in caplog.text
