"""Education: termly attendance per pupil, suspensions and permanent exclusions, monthly NEET.

Cadences: attendance once a term, on the term's last day (all pupils in years 1-11); exclusions
every school day (the day's new suspensions and exclusions, possibly none); NEET on each month's
last day for everyone of academic age 16-17. Pupils are the area's people, so a child known to the
youth justice service is found here under the same UPN (and in NEET under the same person id).
Calibration: about 7% of sessions missed and a fifth of pupils persistently absent (10% or more);
suspensions about 12 per 100 pupils a year and permanent exclusions about 0.1; NEET about 5% and
not known about 3% (more in September and October, before the new cohort is tracked).
"""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np

from csp_pipeline.synthetic.context import Context, Night
from csp_pipeline.synthetic.people import Population, population
from csp_pipeline.synthetic.table import Table
from csp_pipeline.synthetic.timeline import (
    Choice,
    academic_year,
    area_rng,
    is_month_end,
    is_school_day,
    night_rng,
    term_ending,
)

TERM_SESSIONS = {"Autumn": 130, "Spring": 122, "Summer": 126}
SUSPENSIONS_PER_PUPIL_DAY = 0.12 / 175
PERMANENT_SHARE = 0.009
REASONS = Choice({"PD": 0.38, "VA": 0.15, "PA": 0.1, "PP": 0.1, "VP": 0.08, "DA": 0.04,  # DfE codes
                  "DM": 0.03, "BU": 0.02, "WE": 0.02, "MT": 0.02, "TH": 0.01, "OT": 0.05})
NEET_SHARE = 0.05
NOT_KNOWN_SHARE = {9: 0.08, 10: 0.05}  # other months 0.03
ACTIVITIES = {  # NCCIS-style activity codes (illustrative)
    "EET": Choice({"210": 0.3, "220": 0.15, "230": 0.38, "310": 0.08, "320": 0.05, "340": 0.04}),
    "NEET": Choice({"610": 0.5, "620": 0.15, "630": 0.1, "650": 0.12, "660": 0.05, "670": 0.04,
                    "680": 0.04}),
    "NOT_KNOWN": Choice({"810": 0.7, "820": 0.3}),
}


def _pupils(pop: Population, day: date) -> tuple[np.ndarray, np.ndarray]:
    """Positions and curriculum years of the pupils in years 1-11 on that day."""
    return _roll(pop, academic_year(day))


@cache
def _roll(pop: Population, year: int) -> tuple[np.ndarray, np.ndarray]:
    ncy = pop.ncy(date(year, 9, 1))
    idx = np.nonzero((ncy >= 1) & (ncy <= 11))[0]
    return idx, ncy[idx]


def attendance(ctx: Context) -> Night:
    pop = population(ctx.seed, ctx.area.la_code, ctx.scale)

    def night(day: date) -> Table | None:
        term = term_ending(day)
        if term is None:
            return None
        rng = night_rng(ctx.seed, "attendance", day, ctx.area.la_code)
        idx, ncy = _pupils(pop, day)
        n = len(idx)
        possible = np.full(n, TERM_SESSIONS[term]) - np.where(
            rng.random(n) < 0.04, rng.integers(10, 80, n), 0)  # joined or left during the term
        rate = pop.absence[idx] * np.where(ncy >= 7, 1.3, 0.8) * rng.gamma(6.0, 1 / 6, n)
        missed = rng.binomial(possible, np.clip(rate, 0, 0.95))
        unauthorised = rng.binomial(missed, np.clip(0.2 + 0.4 * pop.risk_pct[idx], 0, 1))
        year = academic_year(day)
        return {
            "UPN": pop.upns(idx), "DATE_OF_BIRTH": pop.dobs(idx),
            "LA_CODE": [ctx.area.la_code] * n, "SCHOOL_URN": pop.school_urn(day)[idx].astype(str).tolist(),
            "ACADEMIC_YEAR": [f"{year}{(year + 1) % 100:02d}"] * n, "TERM": [term] * n,
            "NCY": ncy.astype(str).tolist(), "SESSIONS_POSSIBLE": possible.astype(str).tolist(),
            "SESSIONS_AUTHORISED": (missed - unauthorised).astype(str).tolist(),
            "SESSIONS_UNAUTHORISED": unauthorised.astype(str).tolist(),
            "SEN_PROVISION": pop.sen[idx].tolist(),
        }

    return night


def exclusions(ctx: Context) -> Night:
    pop = population(ctx.seed, ctx.area.la_code, ctx.scale)

    def night(day: date) -> Table | None:
        if not is_school_day(day):
            return None
        rng = night_rng(ctx.seed, "exclusions", day, ctx.area.la_code)
        idx, ncy = _pupils(pop, day)
        n = int(rng.poisson(len(idx) * SUSPENSIONS_PER_PUPIL_DAY))
        weights = pop.risk[idx] ** 1.5 * np.where(ncy >= 7, 3.0, 0.4) * \
            np.where(pop.sex[idx] == "M", 1.6, 1.0)
        chosen = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False,
                                    p=weights / weights.sum()))
        n = len(chosen)
        perm = rng.random(n) < PERMANENT_SHARE
        sessions = np.where(rng.random(n) < 0.1, 1, 2 * rng.integers(1, 6, n))
        return {
            "EXCLUSION_ID": [f"EX{ctx.area.number}{day:%Y%m%d}{i:04d}" for i in range(n)],
            "UPN": pop.upns(chosen), "LA_CODE": [ctx.area.la_code] * n,
            "SCHOOL_URN": pop.school_urn(day)[chosen].astype(str).tolist(), "START_DATE": [day.isoformat()] * n,
            "CATEGORY": np.where(perm, "PERM", "SUSP").tolist(),
            "SESSIONS": np.where(perm, "", sessions.astype(str)).tolist(),
            "REASON_CODE": REASONS.many(rng, n),
        }

    return night


@cache
def _neet_propensity(seed: int, la_code: str, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per person: a standing draw (most months repeat it) and the chance of being NEET."""
    pop = population(seed, la_code, scale)
    usual = area_rng(seed, "neet", la_code).random(len(pop))
    p_neet = pop.risk**0.7
    return usual, NEET_SHARE * p_neet / p_neet.mean()


def neet(ctx: Context) -> Night:
    pop = population(ctx.seed, ctx.area.la_code, ctx.scale)
    usual, p_neet = _neet_propensity(ctx.seed, ctx.area.la_code, ctx.scale)

    def night(day: date) -> Table | None:
        if not is_month_end(day):
            return None
        rng = night_rng(ctx.seed, "neet", day, ctx.area.la_code)
        ncy = pop.ncy(day)
        idx = np.nonzero((ncy == 12) | (ncy == 13))[0]
        n = len(idx)
        u = np.where(rng.random(n) < 0.25, rng.random(n), usual[idx])
        unknown = u > 1 - NOT_KNOWN_SHARE.get(day.month, 0.03)
        group = np.where(unknown, "NOT_KNOWN", np.where(u < p_neet[idx], "NEET", "EET"))
        codes = {g: choice.many(rng, n) for g, choice in ACTIVITIES.items()}
        return {
            "PERSON_ID": pop.ids(idx), "DATE_OF_BIRTH": pop.dobs(idx),
            "LA_CODE": [ctx.area.la_code] * n, "MONTH": [f"{day:%Y-%m}"] * n,
            "ACTIVITY_GROUP": group.tolist(),
            "ACTIVITY_CODE": [codes[g][i] for i, g in enumerate(group.tolist())],
        }

    return night
