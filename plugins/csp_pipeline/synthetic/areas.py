"""Areas and wards of the synthetic world, read from the bundled reference data (the dbt seeds).

What the seeds do not hold (postcode districts, DfE LA numbers, map centres, LSOAs) is fixed here
per area; LSOA codes and coordinates are illustrative, derived from the ward list.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from csp_pipeline.core.reference import bundled_rows

HARTLEPOOL = "E06000001"
BASE_YEAR = "2023"  # population year that sets volumes

# la_code: (person-id prefix, DfE LA number, postcode districts, (latitude, longitude) centre)
LOCAL = {
    "E06000001": ("HP", "805", ("TS24", "TS25", "TS26", "TS27"), (54.685, -1.215)),
    "E06000002": ("MB", "806", ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6", "TS7", "TS8"),
                  (54.560, -1.230)),
    "E06000003": ("RC", "807", ("TS10", "TS11", "TS12", "TS13", "TS14"), (54.580, -1.030)),
    "E06000004": ("ST", "808", ("TS16", "TS17", "TS18", "TS19", "TS20", "TS21"),
                  (54.570, -1.320)),
}
LSOAS_PER_WARD = 5


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    lsoa_codes: tuple[str, ...]
    lsoa_names: tuple[str, ...]
    centre: tuple[float, float]


@dataclass(frozen=True)
class Area:
    number: int  # 1-based position in the bundled ref_areas
    la_code: str
    la_name: str
    population: int
    population_10_17: int
    ethnicity_10_17: tuple[tuple[str, int], ...]
    wards: tuple[Ward, ...]

    @property
    def prefix(self) -> str:
        return LOCAL[self.la_code][0]

    @property
    def dfe_number(self) -> str:
        return LOCAL[self.la_code][1]

    @property
    def postcode_districts(self) -> tuple[str, ...]:
        return LOCAL[self.la_code][2]


def _wards(area_number: int, la_code: str, la_name: str, rows: list[dict]) -> tuple[Ward, ...]:
    lat, lon = LOCAL[la_code][3]
    wards = []
    for i, row in enumerate(r for r in rows if r["la_code"] == la_code):
        # A fixed pseudo-random offset per ward name: a stable illustrative map.
        h = zlib.crc32(row["ward_name"].encode())
        centre = (lat + ((h % 1000) / 1000 - 0.5) * 0.08, lon + ((h // 1000 % 1000) / 1000 - 0.5) * 0.12)
        codes = tuple(f"E010{area_number}{i:02d}{k:02d}" for k in range(LSOAS_PER_WARD))
        names = tuple(f"{la_name} {i * LSOAS_PER_WARD // 4 + 1:03d}{'ABCDE'[k]}"
                      for k in range(LSOAS_PER_WARD))
        wards.append(Ward(row["ward_code"], row["ward_name"], codes, names, centre))
    return tuple(wards)


@cache
def areas() -> tuple[Area, ...]:
    wards = bundled_rows("ref_wards")
    pops = {r["la_code"]: r for r in bundled_rows("ref_populations") if r["year"] == BASE_YEAR}
    eth: dict[str, list[tuple[str, int]]] = {}
    for r in bundled_rows("ref_population_ethnicity"):
        if r["year"] == BASE_YEAR:
            eth.setdefault(r["la_code"], []).append((r["ethnicity"], int(r["population_10_17"])))
    out = []
    for number, r in enumerate(bundled_rows("ref_areas"), start=1):
        code = r["la_code"]
        if code not in LOCAL:
            raise ValueError(f"bundled ref_areas: no synthetic settings for {code} in synthetic/areas.py")
        out.append(Area(number, code, r["la_name"], int(pops[code]["population_total"]),
                        int(pops[code]["population_10_17"]), tuple(eth[code]),
                        _wards(number, code, r["la_name"], wards)))
    return tuple(out)


def weight(area: Area) -> float:
    """Event volumes relative to Hartlepool, by total population."""
    hartlepool = next(a for a in areas() if a.la_code == HARTLEPOOL)
    return area.population / hartlepool.population


@cache
def ward_weights(area: Area, skew: float, first: tuple[str, ...] = ()) -> np.ndarray:
    """Zipf-like shares of events by ward (a few hotspots carry most), wards in `first` on top.

    The order of the other wards is a fixed function of their names, so it never depends on a seed.
    """
    order = sorted(area.wards, key=lambda w: (w.name not in first,
                                               first.index(w.name) if w.name in first else 0,
                                               zlib.crc32(w.name.encode())))
    rank = {w.code: i for i, w in enumerate(order)}
    w = np.array([1.0 / (rank[ward.code] + 1) ** skew for ward in area.wards])
    return w / w.sum()
