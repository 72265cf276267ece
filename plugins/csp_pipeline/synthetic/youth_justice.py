"""Youth justice case management: children, offences, outcomes, victims and board attendance.

Each area's children known to the service have a career fixed by seed and area alone: a first
contact aged 10-17 (diversion or a first caution or sentence), and for repeaters further outcomes
that climb the ladder (cautions, referral orders, youth rehabilitation orders, rarely custody,
sometimes after a remand), all before their 18th birthday. Calibrated for about 100-200 first-time
entrants per 100,000 aged 10-17 a year, reoffending around a third, and a few custodial sentences
and remands a year per area. Cadences: an outcome is sent the night it is given, with its offences,
victims and the child's record; orders and programmes are re-sent (same OUTCOME_ID) the night they
end, with END_DATE and the end-of-order KPI fields; remands are re-sent when they end. The
management board meets quarterly (second Tuesday of February, May, August and November).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from csp_pipeline.synthetic.context import Context, Night
from csp_pipeline.synthetic.people import Population, population
from csp_pipeline.synthetic.table import Table, from_rows
from csp_pipeline.synthetic.timeline import Choice, area_rng, night_rng

INVOLVED_SHARE = 0.022  # of each birth cohort ever worked with by the service
REPEAT_SHARE = 0.35
REPEATS = 1.5  # mean further outcomes of a repeater, less one
GAP_DAYS = 170  # mean days between outcomes, over 20
MAX_OUTCOMES = 12
# Ladder rung -> {outcome type: share}; rung 0 is prevention (no offence), 1 diversion, 2+ substantive.
RUNGS = {
    0: {"Prevention": 1.0},
    1: {"Triage": 0.4, "Community Resolution": 0.45, "Outcome 22": 0.15},
    2: {"Youth Caution": 1.0},
    3: {"Youth Conditional Caution": 1.0},
    4: {"Referral Order": 0.8, "Fine": 0.06, "Conditional Discharge": 0.07, "Reparation Order": 0.07},
    5: {"Youth Rehabilitation Order": 1.0},
    6: {"Detention and Training Order": 1.0},
    7: {"Section 250 Detention": 1.0},
}
FIRST_RUNG = {0: 0.2, 1: 0.36, 2: 0.16, 3: 0.1, 4: 0.17, 5: 0.01}
STEP = {0: 0.5, 1: 0.4, 2: 0.1}  # rungs climbed by the next outcome of a repeater
CUSTODY_SHARE = 0.7  # of outcomes that would climb past a youth rehabilitation order
S250_SHARE = 0.1  # of custodial sentences
REMAND = "Remand to Youth Detention Accommodation"
REMAND_BEFORE = {5: 0.1, 6: 0.6, 7: 0.9}
DAYS = {  # outcome type -> (min, max) days from start to end; absent = no start/end
    "Prevention": (90, 180), "Triage": (60, 120), "Outcome 22": (60, 120),
    "Youth Conditional Caution": (60, 120), "Referral Order": (90, 365),
    "Reparation Order": (60, 90), "Youth Rehabilitation Order": (180, 730),
    "Detention and Training Order": (120, 730), "Section 250 Detention": (365, 1460),
}
OFFENCES = {  # category: (share, gravity range, has a personal victim)
    "Violence Against the Person": (0.3, (2, 6), True),
    "Theft and Handling Stolen Goods": (0.12, (1, 4), True), "Criminal Damage": (0.1, (2, 4), True),
    "Public Order": (0.09, (2, 4), False), "Drugs": (0.07, (2, 6), False),
    "Motoring Offences": (0.06, (1, 4), False), "Robbery": (0.04, (5, 7), True),
    "Domestic Burglary": (0.03, (4, 6), True), "Non Domestic Burglary": (0.03, (3, 5), True),
    "Vehicle Theft / Unauthorised Taking": (0.03, (3, 5), True),
    "Sexual Offences": (0.02, (5, 8), True), "Breach of Statutory Order": (0.03, (2, 4), False),
    "Breach of Bail": (0.01, (1, 3), False), "Breach of Conditional Discharge": (0.01, (1, 3), False),
    "Arson": (0.01, (3, 6), True), "Fraud and Forgery": (0.01, (2, 4), True),
    "Racially Aggravated": (0.01, (3, 5), True), "Other": (0.01, (1, 3), False),
}
SERIOUS = {"Violence Against the Person": 0.5, "Robbery": 0.25, "Drugs": 0.1,
           "Sexual Offences": 0.05, "Domestic Burglary": 0.1}
GRAVITY = {1: (1, 3), 2: (2, 3), 3: (2, 4), 4: (2, 5), 5: (3, 6), 6: (5, 8), 7: (7, 8)}
KPI = ["ACCOMMODATION_SUITABLE", "ETE_SUITABLE", "SEND_IDENTIFIED", "SEND_PLAN", "MH_NEED",
       "MH_INTERVENTION", "SM_NEED", "SM_INTERVENTION", "PROGRAMME_COMPLETED", "WIDER_SERVICES"]
CARE = {"NONE": 0.68, "CIN": 0.15, "CIOC": 0.12, "CP": 0.05}
BOARD_MONTHS = (2, 5, 8, 11)
PARTNERS = {"Police": 0.9, "Social care": 0.9, "Education": 0.75, "Health": 0.8, "Probation": 0.85}


@dataclass(frozen=True, eq=False)
class Casebook:
    """An area's youth justice records keyed by the night they are sent (date ordinals)."""

    children: dict[int, list[dict[str, str]]]
    offences: dict[int, list[dict[str, str]]]
    outcomes: dict[int, list[dict[str, str]]]
    victims: dict[int, list[dict[str, str]]]


PICK_RUNG = {rung: Choice(types) for rung, types in RUNGS.items()}
PICK_FIRST = Choice({str(k): v for k, v in FIRST_RUNG.items()})
PICK_STEP = Choice({str(k): v for k, v in STEP.items()})
PICK_OFFENCE = Choice({c: v[0] for c, v in OFFENCES.items()})
PICK_SERIOUS = Choice(SERIOUS)
PICK_CARE = Choice(CARE)


def _years(n: float) -> int:
    return int(n * 365.25)


def _kpis(rng: np.random.Generator, pop: Population, i: int, kind: str) -> dict[str, str]:
    """End-of-order KPI answers; SEND follows the child's SEN status in the school census."""
    yn = {True: "Y", False: "N"}
    mh, sm = rng.random() < 0.45, rng.random() < 0.35
    sen = str(pop.sen[i])
    return {
        "ACCOMMODATION_SUITABLE": yn[rng.random() < 0.9], "ETE_SUITABLE": yn[rng.random() < 0.65],
        "SEND_IDENTIFIED": yn[sen != "N"], "SEND_PLAN": yn[sen == "E"],
        "MH_NEED": yn[mh], "MH_INTERVENTION": yn[mh and rng.random() < 0.7],
        "SM_NEED": yn[sm], "SM_INTERVENTION": yn[sm and rng.random() < 0.7],
        "PROGRAMME_COMPLETED": yn[rng.random() < (0.7 if kind == "Youth Rehabilitation Order" else 0.82)],
        "WIDER_SERVICES": yn[rng.random() < 0.55],
    }


class _Book:
    """Accumulates the sends of every kind while careers are drawn."""

    def __init__(self, pop: Population, la_code: str, number: int) -> None:
        self.pop, self.la_code, self.number = pop, la_code, number
        self.sends: dict[str, dict[int, list[dict[str, str]]]] = {
            k: defaultdict(list) for k in ("children", "offences", "outcomes", "victims")}
        self.i, self.child_id, self.record = -1, "", {}

    def start(self, i: int, care: str, upn_known: bool) -> None:
        """The child whose career follows; their record is one shared row, sent on each outcome."""
        p = self.pop.person(i)
        self.i, self.child_id = i, p.person_id
        self.record = {
            "CHILD_ID": p.person_id, "FORENAME": p.forename, "SURNAME": p.surname,
            "DATE_OF_BIRTH": p.dob, "SEX": p.sex, "ETHNICITY": p.ethnicity,
            "POSTCODE": p.postcode, "LA_CODE": self.la_code, "CARE_STATUS": care,
            "UPN": p.upn if upn_known else "",
        }

    def child(self, day: int) -> None:
        self.sends["children"][day].append(self.record)

    def outcome(self, rng: np.random.Generator, oid: str, kind: str, day: int, end: int | None,
                kpis: bool) -> None:
        row = {"OUTCOME_ID": oid, "CHILD_ID": self.child_id,
               "OUTCOME_DATE": _iso(day), "OUTCOME_TYPE": kind,
               "START_DATE": _iso(day) if end else "", "END_DATE": "", **{k: "" for k in KPI}}
        self.sends["outcomes"][day].append(row)
        if end:
            closed = {**row, "END_DATE": _iso(end)}
            if kpis:
                closed.update(_kpis(rng, self.pop, self.i, kind))
            self.sends["outcomes"][end].append(closed)

    def offences(self, rng: np.random.Generator, oid: str, day: int, rung: int) -> None:
        n = 1 + int(rng.poisson(0.3 if rung < 4 else 0.8))
        earliest = int(self.pop.dob_ord[self.i]) + _years(10)  # age of criminal responsibility
        for k in range(n):
            serious = rung >= 6 or (k == 0 and rung == 5 and rng.random() < 0.3)
            cat = PICK_SERIOUS(rng) if serious else PICK_OFFENCE(rng)
            lo, hi = OFFENCES[cat][1]
            g_lo, g_hi = GRAVITY[max(1, rung)]
            gravity = min(hi, max(lo, int(rng.integers(g_lo, g_hi + 1))))
            if serious:
                gravity = max(gravity, 5)
            offence_day = max(earliest, day - int(rng.integers(7, 60 if rung < 4 else 150)))
            self.sends["offences"][day].append({
                "OFFENCE_ID": f"OF{oid[2:]}{k}", "CHILD_ID": self.child_id,
                "OFFENCE_DATE": _iso(min(offence_day, day)), "OFFENCE_CATEGORY": cat,
                "GRAVITY_SCORE": str(gravity), "OUTCOME_ID": oid})
            if OFFENCES[cat][2] and rng.random() < 0.8:
                consent = rng.random() < 0.7
                self.sends["victims"][day].append({
                    "VICTIM_ID": f"VI{oid[2:]}{k}", "OUTCOME_ID": oid,
                    "CONSENTED_TO_CONTACT": "Y" if consent else "N",
                    "ENGAGED_RJ": "Y" if consent and rng.random() < 0.35 else "N"})


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _career(rng: np.random.Generator, book: _Book, i: int) -> None:
    pop = book.pop
    dob = int(pop.dob_ord[i])
    adult = dob + _years(18)  # outcomes stop before the 18th birthday
    day = dob + _years(10 + 8 * rng.beta(3.0, 2.0))
    book.start(i, PICK_CARE(rng), upn_known=rng.random() < 0.9)
    repeats = 1 + int(rng.poisson(REPEATS)) if rng.random() < REPEAT_SHARE else 0
    rung = int(PICK_FIRST(rng))
    for e in range(min(1 + repeats, MAX_OUTCOMES)):
        if day >= adult:
            break
        kind = PICK_RUNG[rung](rng)
        oid = f"YO{book.number}{i:06d}{e:02d}"
        if rng.random() < REMAND_BEFORE.get(rung, 0):
            remanded = day - int(rng.integers(14, 120))
            if remanded > dob + _years(10):
                book.child(remanded)
                book.outcome(rng, f"YR{book.number}{i:06d}{e:02d}", REMAND, remanded, day, False)
        book.child(day)
        span = DAYS.get(kind)
        end = day + int(rng.integers(span[0], span[1] + 1)) if span else None
        book.outcome(rng, oid, kind, day, end, True)
        if rung > 0:
            book.offences(rng, oid, day, rung)
        # The next outcome: an offence some weeks or months later, usually a rung or two higher.
        day += 20 + int(rng.exponential(GAP_DAYS))
        rung = max(1, rung) + int(PICK_STEP(rng))
        if rung >= 6:  # custody is a last resort: most get a (further) community sentence
            rung = 5 if rng.random() > CUSTODY_SHARE else 7 if rng.random() < S250_SHARE else 6


@cache
def involved(seed: int, la_code: str, scale: float) -> np.ndarray:
    """Positions in the area's population of the children the service ever works with."""
    pop = population(seed, la_code, scale)
    rng = area_rng(seed, "youth_justice-involved", la_code)
    w = pop.risk**1.5 * np.where(pop.sex == "M", 3.0, 0.8)
    n = max(5, round(INVOLVED_SHARE * len(pop)))
    return np.sort(rng.choice(len(pop), size=n, replace=False, p=w / w.sum()))


@cache
def casebook(seed: int, la_code: str, scale: float) -> Casebook:
    pop = population(seed, la_code, scale)
    rng = area_rng(seed, "youth_justice", la_code)
    book = _Book(pop, la_code, pop.area.number)
    for i in involved(seed, la_code, scale).tolist():
        _career(rng, book, i)
    children = {day: list({r["CHILD_ID"]: r for r in rows}.values())  # one row per child a night
                for day, rows in book.sends["children"].items()}
    return Casebook(children, dict(book.sends["offences"]), dict(book.sends["outcomes"]),
                    dict(book.sends["victims"]))


def _sent(kind: str, ctx: Context) -> Night:
    header = ctx.header("youth_justice", kind)
    book = casebook(ctx.seed, ctx.area.la_code, ctx.scale)
    by_day = getattr(book, kind)

    def night(day: date) -> Table:
        return from_rows(by_day.get(day.toordinal(), []), header)

    return night


def children(ctx: Context) -> Night:
    return _sent("children", ctx)


def offences(ctx: Context) -> Night:
    return _sent("offences", ctx)


def outcomes(ctx: Context) -> Night:
    return _sent("outcomes", ctx)


def victims(ctx: Context) -> Night:
    return _sent("victims", ctx)


def board_attendance(ctx: Context) -> Night:
    """Quarterly management board: one row per partner, on the meeting day."""

    def night(day: date) -> Table | None:
        if day.month not in BOARD_MONTHS or day.weekday() != 1 or not 8 <= day.day <= 14:
            return None
        rng = night_rng(ctx.seed, "board", day, ctx.area.la_code)
        attended = ["Y" if rng.random() < p else "N" for p in PARTNERS.values()]
        return {"MEETING_DATE": [day.isoformat()] * len(PARTNERS),
                "LA_CODE": [ctx.area.la_code] * len(PARTNERS), "PARTNER": list(PARTNERS),
                "SENIOR_ATTENDED": attended}

    return night
