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
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the inward code
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


@dataclass(frozen=True)
class Person:
    """One person's identifiers and details, as text for an extract."""

    person_id: str
    upn: str
    forename: str
    surname: str
    dob: str
    sex: str
    ethnicity: str
    postcode: str


@dataclass(frozen=True, eq=False)
class Population:
    """Columns of numbers (compact even at scale 10); identifiers are formatted when written."""

    area: Area
    dob_ord: np.ndarray  # proleptic ordinals
    birth_y: np.ndarray
    birth_md: np.ndarray  # month * 100 + day
    sex: np.ndarray  # M | F
    ethnicity: np.ndarray
    risk: np.ndarray  # relative propensity, mean 1
    risk_pct: np.ndarray  # its percentile in the area, 0..1
    absence: np.ndarray  # usual share of sessions missed
    sen: np.ndarray  # N | K | E
    primary_urn: np.ndarray
    secondary_urn: np.ndarray
    upn_serial: np.ndarray  # the 9 digits after the LA number
    upn_check: np.ndarray  # position of the check letter in UPN_CHECK
    forename_ix: np.ndarray
    surname_ix: np.ndarray
    postcode_ix: np.ndarray  # (district, sector, letter, letter)

    def __len__(self) -> int:
        return len(self.dob_ord)

    def ages(self, day: date) -> np.ndarray:
        return day.year - self.birth_y - ((day.month * 100 + day.day) < self.birth_md)

    def age(self, i: int, day: date) -> int:
        return int(day.year - self.birth_y[i] - ((day.month * 100 + day.day) < self.birth_md[i]))

    def ncy(self, day: date) -> np.ndarray:
        """National curriculum year: academic age (age on 31 August before the year) minus 4."""
        return _ncy(self, academic_year(day))

    def school_urn(self, day: date) -> np.ndarray:
        return _urn(self, academic_year(day))

    def ids(self, idx: np.ndarray) -> list[str]:
        prefix = self.area.prefix
        return [f"{prefix}{i:06d}" for i in np.asarray(idx).tolist()]

    def upns(self, idx: np.ndarray) -> list[str]:
        la = self.area.dfe_number
        return [f"{UPN_CHECK[c]}{la}{s:09d}" for c, s in
                zip(self.upn_check[idx].tolist(), self.upn_serial[idx].tolist(), strict=True)]

    def dobs(self, idx: np.ndarray) -> list[str]:
        return np.datetime_as_string((self.dob_ord[idx] - UNIX).astype("datetime64[D]")).tolist()

    def person(self, i: int) -> Person:
        d, s, a, b = self.postcode_ix[i].tolist()
        sex = str(self.sex[i])
        return Person(
            person_id=self.ids([i])[0], upn=self.upns(np.array([i]))[0],
            forename=FORENAMES[sex][self.forename_ix[i]], surname=SURNAMES[self.surname_ix[i]],
            dob=self.dobs(np.array([i]))[0], sex=sex, ethnicity=str(self.ethnicity[i]),
            postcode=f"{self.area.postcode_districts[d]} {s}{INWARD_LETTERS[a]}{INWARD_LETTERS[b]}")


@cache
def _ncy(pop: Population, year: int) -> np.ndarray:
    cohort_start = pop.birth_y - (pop.birth_md < 901)  # Sep-Aug birth cohort
    return year - cohort_start - 5


@cache
def _urn(pop: Population, year: int) -> np.ndarray:
    return np.where(_ncy(pop, year) >= 7, pop.secondary_urn, pop.primary_urn)


def _upn_check(area: Area, serial: np.ndarray) -> np.ndarray:
    """DfE check letter: the 12 digits (positions 2-13) weighted 2..13, sum mod 23."""
    total = sum(int(c) * w for c, w in zip(area.dfe_number, (2, 3, 4), strict=False))
    for k in range(9):  # serial digits, most significant first, weights 5..13
        total = total + (serial // 10 ** (8 - k) % 10) * (5 + k)
    return (total % 23).astype(np.int8)


def _urns(area: Area, n: int, base: int) -> np.ndarray:
    return 100_000 + area.number * 20_000 + base + np.arange(n, dtype=np.int32)


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
    groups, counts = zip(*area.ethnicity_10_17, strict=True)
    ethnicity = rng.choice(np.array(groups), size=n, p=np.array(counts) / sum(counts))
    risk = np.exp(rng.normal(0, 0.9, n))
    risk /= risk.mean()
    risk_pct = risk.argsort().argsort() / max(1, n - 1)
    absence = rng.beta(2.0, 30.0, n) * (0.55 + 0.9 * risk_pct)
    f = 0.4 + 1.8 * risk_pct**2  # SEN is over-represented among high-risk children
    u = rng.random(n)
    sen = np.where(u < 0.045 * f, "E", np.where(u < 0.175 * f, "K", "N"))
    # LA number + 9 digits: a bijection of the index mod 10^9, so UPNs are unique and look random.
    serial = (np.arange(n, dtype=np.int64) * 387_420_489 + int(rng.integers(0, 10**9))) % 10**9
    forename_ix = rng.integers(0, len(FORENAMES["M"]), n).astype(np.int8)
    surname_ix = rng.integers(0, len(SURNAMES), n).astype(np.int8)
    postcode_ix = np.stack([rng.integers(0, len(area.postcode_districts), n), rng.integers(1, 10, n),
                            rng.integers(0, len(INWARD_LETTERS), n),
                            rng.integers(0, len(INWARD_LETTERS), n)], axis=1).astype(np.int8)
    primaries = max(1, round(cohort * 7 / 220))
    secondaries = max(1, round(cohort * 5 / 900))
    return Population(
        area=area, dob_ord=dob_ord.astype(np.int32), birth_y=birth_y.astype(np.int16),
        birth_md=birth_md.astype(np.int16), sex=sex, ethnicity=ethnicity, risk=risk,
        risk_pct=risk_pct, absence=absence, sen=sen,
        primary_urn=_urns(area, primaries, 0)[rng.integers(0, primaries, n)],
        secondary_urn=_urns(area, secondaries, 10_000)[rng.integers(0, secondaries, n)],
        upn_serial=serial, upn_check=_upn_check(area, serial), forename_ix=forename_ix,
        surname_ix=surname_ix, postcode_ix=postcode_ix,
    )
