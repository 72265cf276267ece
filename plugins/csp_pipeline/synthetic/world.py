"""The synthetic world: areas, wards and a fixed population of people (seed-only, range-free).

Everything here depends on the seed alone, so any date range generated from it agrees with any
other. A person's council-wide id is used as youth justice CHILD_ID, NEET PERSON_ID and treatment
CLIENTID, and their UPN in education and youth justice, so linkage across feeds can be tested.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np

from csp_pipeline.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"
PREFIX = {"E06000001": "HP", "E06000002": "MB", "E06000003": "RC", "E06000004": "ST"}
POSTCODE_DISTRICTS = {"E06000001": ["TS24", "TS25", "TS26", "TS27"],
                      "E06000002": ["TS1", "TS3", "TS4", "TS5", "TS7", "TS8"],
                      "E06000003": ["TS10", "TS11", "TS12", "TS13", "TS14"],
                      "E06000004": ["TS16", "TS17", "TS18", "TS19", "TS20", "TS21"]}
FORENAMES = ["Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "Leo", "Mia", "Charlie", "Ella",
             "Noah", "Grace", "Alfie", "Lily", "Freddie", "Sophie", "Kai", "Evie", "Tyler", "Ruby"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Walker", "Robson", "Thompson",
            "Wright", "Hall", "Green", "Clarke", "Johnson", "Hughes", "Bell", "Atkinson"]


@dataclass(frozen=True)
class Area:
    la_code: str
    la_name: str
    population: int
    population_10_17: int
    wards: tuple[tuple[str, str], ...]  # (code, name)

    @property
    def weight(self) -> float:
        """Volumes relative to Hartlepool."""
        return self.population / 93_861


@cache
def areas() -> tuple[Area, ...]:
    with (SEEDS / "ref_wards.csv").open() as fh:
        wards = list(csv.DictReader(fh))
    with (SEEDS / "ref_populations.csv").open() as fh:
        pops = {r["la_code"]: r for r in csv.DictReader(fh) if r["year"] == "2023"}
    with (SEEDS / "ref_areas.csv").open() as fh:
        return tuple(
            Area(r["la_code"], r["la_name"], int(pops[r["la_code"]]["population_total"]),
                 int(pops[r["la_code"]]["population_10_17"]),
                 tuple((w["ward_code"], w["ward_name"]) for w in wards
                       if w["la_code"] == r["la_code"]))
            for r in csv.DictReader(fh))


@dataclass(frozen=True)
class Person:
    person_id: str
    upn: str
    forename: str
    surname: str
    dob: date
    sex: str
    ethnicity: str
    postcode: str
    la_code: str
    care_status: str

    def age_on(self, day: date) -> int:
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


@cache
def people(seed: int, la_code: str, scale: float) -> tuple[Person, ...]:
    """Children and young people born 2000-2016 (aged about 8-24 over the demo years)."""
    area = next(a for a in areas() if a.la_code == la_code)
    rng = np.random.default_rng([seed, int(la_code[-1]), 7])
    n = max(60, int(area.population_10_17 * 0.12 * scale))
    nonwhite = {"E06000002": 0.2}.get(la_code, 0.07)
    out = []
    for i in range(n):
        dob = date(2000, 1, 1) + timedelta(days=int(rng.integers(0, 17 * 365)))
        eth = "White" if rng.random() > nonwhite else str(rng.choice(
            ["Mixed", "Asian", "Black", "Other"], p=[0.35, 0.45, 0.12, 0.08]))
        district = str(rng.choice(POSTCODE_DISTRICTS[la_code]))
        postcode = f"{district} {rng.integers(1, 10)}{chr(65 + rng.integers(0, 26))}" \
                   f"{chr(65 + rng.integers(0, 26))}"
        out.append(Person(
            person_id=f"{PREFIX[la_code]}{i:06d}",
            upn=f"{chr(65 + rng.integers(0, 26))}{rng.integers(10**11, 10**12)}",
            forename=str(rng.choice(FORENAMES)), surname=str(rng.choice(SURNAMES)),
            dob=dob, sex=str(rng.choice(["M", "F"], p=[0.7, 0.3])), ethnicity=eth,
            postcode=postcode, la_code=la_code,
            care_status=str(rng.choice(["NONE", "CIN", "CP", "CIOC"], p=[0.7, 0.15, 0.05, 0.1]))))
    return tuple(out)


def night_rng(seed: int, feed: str, day: date, la_code: str) -> np.random.Generator:
    """Randomness of one feed, area and night: independent of the range being generated."""
    return np.random.default_rng([seed, sum(map(ord, feed)), day.toordinal(), int(la_code[-1])])
