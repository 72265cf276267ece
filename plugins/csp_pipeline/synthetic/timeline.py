"""Dates and randomness: nights, school calendar, and the random streams everything draws from.

Determinism rule: a night's records come from a generator seeded by (seed, stream, night, area) and
the standing universes (people, careers) from (seed, stream, area) only, so any sub-range of nights
reproduces exactly the files of a longer range.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np


def nights(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _tag(text: str) -> int:
    return zlib.crc32(text.encode())  # stable across processes, unlike hash()


def night_rng(seed: int, stream: str, day: date, la_code: str) -> np.random.Generator:
    """Randomness of one stream, area and night, whatever range is being generated."""
    return np.random.default_rng([seed, _tag(stream), day.toordinal(), _tag(la_code)])


def area_rng(seed: int, stream: str, la_code: str) -> np.random.Generator:
    """Randomness of a standing universe (people, careers): seed and area only."""
    return np.random.default_rng([seed, _tag(stream), _tag(la_code)])


def file_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, _tag(name), 99])


def academic_year(day: date) -> int:
    """Starting calendar year of the academic year (September to August)."""
    return day.year if day.month >= 9 else day.year - 1


def _last_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def term_ending(day: date) -> str | None:
    """The term whose last day `day` is (attendance is returned then), else None.

    Nominal term ends (20 Dec, 28 Mar, 21 Jul), moved back to a weekday; real dates vary by LA.
    """
    for (month, dom), term in (((12, 20), "Autumn"), ((3, 28), "Spring"), ((7, 21), "Summer")):
        if day.month == month and _last_weekday(date(day.year, month, dom)) == day:
            return term
    return None


# Approximate holidays (month, first day, last day): summer, Christmas, Easter, half-terms.
_HOLIDAYS = ((7, 22, 31), (8, 1, 31), (12, 21, 31), (1, 1, 3), (3, 29, 31), (4, 1, 12),
             (10, 23, 31), (2, 12, 18), (5, 27, 31))


def is_school_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    return not any(day.month == m and a <= day.day <= b for m, a, b in _HOLIDAYS)


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


class Choice:
    """A weighted choice among fixed options by one uniform draw (far cheaper than rng.choice)."""

    def __init__(self, options: dict[str, float]) -> None:
        self.names = list(options)
        weights = np.array(list(options.values()), dtype=float)
        self.cum = (np.cumsum(weights) / weights.sum())[:-1]  # the last bound is implicit
        self._bounds = self.cum.tolist()

    def __call__(self, rng: np.random.Generator) -> str:
        return self.names[bisect_right(self._bounds, rng.random())]

    def many(self, rng: np.random.Generator, n: int) -> list[str]:
        return [self.names[i] for i in np.searchsorted(self.cum, rng.random(n), "right").tolist()]
