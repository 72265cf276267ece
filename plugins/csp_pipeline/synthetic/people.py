"""One universe of people per area, born 1990-2022, held as columns (seed, area and scale only).

The same person carries the same identifiers in every feed: the council-wide person id is youth
justice CHILD_ID, NEET PERSON_ID and treatment CLIENTID; the UPN is the pupil's key in attendance and
exclusions and the child's UPN in youth justice. A latent `risk` (mean 1) drives offending,
exclusion, absence, NEET and young people's treatment together, so the feeds overlap as they do in
life. Names, birth dates, postcodes and UPNs are fake (UPNs carry a valid DfE check letter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from csp_pipeline.synthetic.areas import Area, areas
from csp_pipeline.synthetic.timeline import academic_year, area_rng

FIRST_BIRTH = date(1990, 1, 1)
LAST_BIRTH = date(2022, 12, 31)
UNIX = date(1970, 1, 1).toordinal()
UPN_CHECK = "ABCDEFGHJKLMNPQRTUVWXYZ"
INWARD_LETTERS = list("ABDEFGHJLNPQRSTUWXYZ")  # letters used in the inward code
FORENAMES = {
    "M": ["Oliver", "Jack", "Harry", "Leo", "Charlie", "Noah", "Alfie", "Freddie", "Kai", "Tyler",
          "George", "Jacob", "Riley", "Mason", "Logan", "Ethan", "Lewis", "Callum", "Adam", "Ryan",
          "Mohammed", "Ibrahim", "Daniel", "Liam", "Jayden", "Kyle", "Connor", "Josh"],
    "F": ["Amelia", "Isla", "Ava", "Mia", "Ella", "Grace", "Lily", "Sophie", "Evie", "Ruby",
          "Olivia", "Emily", "Freya", "Poppy", "Chloe", "Megan", "Holly", "Jessica", "Amber",
          "Aisha", "Maryam", "Leah", "Abbie", "Niamh", "Courtney", "Paige", "Ellie", "Lucy"],
}
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Walker", "Robson", "Thompson", "Wright",
            "Hall", "Green", "Clarke", "Johnson", "Hughes", "Bell", "Atkinson", "Dobson", "Harrison",
            "Jackson", "Marshall", "Pearson", "Richardson", "Scott", "Stephenson", "Turnbull",
            "Wood", "Young", "Lee", "Moore", "Watson", "Ali", "Hussain", "Khan", "Ahmed", "Nowak",
            "Kowalski", "Okafor", "Patel", "Begum", "Shaw", "Metcalfe", "Hodgson", "Coulson"]


@dataclass(frozen=True, eq=False)
class Population:
    area: Area
    person_id: list[str]
    upn: list[str]
    forename: list[str]
    surname: list[str]
    postcode: list[str]
    dob: list[str]  # ISO dates
    dob_ord: np.ndarray  # proleptic ordinals
    birth_y: np.ndarray
    birth_md: np.ndarray  # month * 100 + day
    sex: np.ndarray
    ethnicity: np.ndarray
    risk: np.ndarray  # relative propensity, mean 1
    risk_pct: np.ndarray  # its percentile in the area, 0..1
    absence: np.ndarray  # usual share of sessions missed
    sen: np.ndarray  # N | K | E
    primary_urn: np.ndarray
    secondary_urn: np.ndarray

    def __len__(self) -> int:
        return len(self.person_id)

    def ages(self, day: date) -> np.ndarray:
        return day.year - self.birth_y - ((day.month * 100 + day.day) < self.birth_md)

    def age(self, i: int, day: date) -> int:
        return int(day.year - self.birth_y[i] - ((day.month * 100 + day.day) < self.birth_md[i]))

    def ncy(self, day: date) -> np.ndarray:
        """National curriculum year: academic age (age on 31 August before the year) minus 4."""
        cohort_start = self.birth_y - (self.birth_md < 901)  # Sep-Aug birth cohort
        return academic_year(day) - cohort_start - 5

    def school_urn(self, day: date) -> np.ndarray:
        return np.where(self.ncy(day) >= 7, self.secondary_urn, self.primary_urn)


def _upn_check(digits: np.ndarray) -> np.ndarray:
    """DfE check letter: digits in positions 2-13 weighted 2..13, sum mod 23."""
    return np.array(list(UPN_CHECK))[(digits * np.arange(2, 14)).sum(axis=1) % 23]


def _upns(rng: np.random.Generator, area: Area, n: int) -> list[str]:
    # LA number + 9 digits: a bijection of the index mod 10^9, so UPNs are unique and look random.
    serial = (np.arange(n, dtype=np.int64) * 387_420_489 + int(rng.integers(0, 10**9))) % 10**9
    text = [f"{area.dfe_number}{s:09d}" for s in serial.tolist()]
    digits = np.frombuffer("".join(text).encode(), dtype=np.uint8).reshape(n, 12) - 48
    return [c + t for c, t in zip(_upn_check(digits.astype(np.int64)).tolist(), text)]


def _urns(area: Area, n: int, base: int) -> np.ndarray:
    return np.array([str(100_000 + area.number * 20_000 + base + k) for k in range(n)])


@cache
def population(seed: int, la_code: str, scale: float) -> Population:
    area = next(a for a in areas() if a.la_code == la_code)
    rng = area_rng(seed, "people", la_code)
    cohort = max(20, round(area.population_10_17 / 8 * scale))
    n = cohort * (LAST_BIRTH.year - FIRST_BIRTH.year + 1)
    dob_ord = FIRST_BIRTH.toordinal() + np.sort(
        rng.integers(0, LAST_BIRTH.toordinal() - FIRST_BIRTH.toordinal() + 1, n))
    dob64 = (dob_ord - UNIX).astype("datetime64[D]")
    months = dob64.astype("datetime64[M]")
    birth_y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    birth_md = (months.astype(np.int64) % 12 + 1) * 100 + (dob64 - months).astype(np.int64) + 1
    sex = np.where(rng.random(n) < 0.512, "M", "F")
    groups, counts = zip(*area.ethnicity_10_17)
    ethnicity = rng.choice(np.array(groups), size=n, p=np.array(counts) / sum(counts))
    risk = np.exp(rng.normal(0, 0.9, n))
    risk /= risk.mean()
    risk_pct = risk.argsort().argsort() / max(1, n - 1)
    absence = rng.beta(2.0, 30.0, n) * (0.55 + 0.9 * risk_pct)
    f = 0.4 + 1.8 * risk_pct**2  # SEN is over-represented among high-risk children
    u = rng.random(n)
    sen = np.where(u < 0.045 * f, "E", np.where(u < 0.175 * f, "K", "N"))
    names_m = rng.choice(FORENAMES["M"], n)
    names_f = rng.choice(FORENAMES["F"], n)
    forename = np.where(sex == "M", names_m, names_f).tolist()
    districts = rng.choice(area.postcode_districts, n)
    sectors = rng.integers(1, 10, n)
    inward = rng.choice(INWARD_LETTERS, (n, 2))
    postcode = [f"{d} {s}{a}{b}" for d, s, (a, b) in
                zip(districts.tolist(), sectors.tolist(), inward.tolist())]
    primaries = max(1, round(cohort * 7 / 220))
    secondaries = max(1, round(cohort * 5 / 900))
    return Population(
        area=area,
        person_id=[f"{area.prefix}{i:06d}" for i in range(n)],
        upn=_upns(rng, area, n),
        forename=forename,
        surname=rng.choice(SURNAMES, n).tolist(),
        postcode=postcode,
        dob=np.datetime_as_string(dob64).tolist(),
        dob_ord=dob_ord, birth_y=birth_y, birth_md=birth_md, sex=sex, ethnicity=ethnicity,
        risk=risk, risk_pct=risk_pct, absence=absence, sen=sen,
        primary_urn=_urns(area, primaries, 0)[rng.integers(0, primaries, n)],
        secondary_urn=_urns(area, secondaries, 10_000)[rng.integers(0, secondaries, n)],
    )
