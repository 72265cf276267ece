"""Fire and rescue incidents, one row per incident, sent the night of the call.

Hartlepool: about 70-120 fires a month, some 85% deliberate and mostly secondary (grass, refuse),
peaking in spring and around bonfire night; a few accidental dwelling fires a month with rare
casualties; false alarms and non-fire incidents besides. Deliberate fires cluster in a few wards
(the top five hold about three quarters, as in the May 2024 board paper); other areas by population.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from csp_pipeline.synthetic.areas import ward_weights
from csp_pipeline.synthetic.context import Context, Night
from csp_pipeline.synthetic.table import Table, from_rows
from csp_pipeline.synthetic.timeline import Choice, night_rng

FIRES_PER_DAY = 2.8  # Hartlepool
OTHER_PER_DAY = 2.2  # false alarms and non-fire incidents, Hartlepool
SEASON = {1: 0.85, 2: 0.85, 3: 1.1, 4: 1.25, 5: 1.2, 6: 1.05, 7: 1.0, 8: 1.0, 9: 0.9, 10: 1.0,
          11: 1.0, 12: 0.85}
SPIKES = {(10, 31): 1.8, (11, 4): 2.0, (11, 5): 3.0, (11, 6): 1.8}  # Halloween, bonfire night
HOTSPOTS = ("Burn Valley", "Rossmere", "De Bruce", "Manor House", "Headland and Harbour")
# Deliberate secondary fires are mostly set after school and in the evening.
EVENING = [2, 1.5, 1, .6, .4, .3, .3, .4, .6, .8, 1, 1.2, 1.4, 1.6, 2, 2.6, 3.4, 4.2, 4.8, 5, 4.6, 4,
           3.2, 2.5]
# Fires: type -> share; property category per type -> (share, probability the fire was deliberate).
FIRE_TYPES = Choice({"Secondary fire": 0.83, "Primary fire": 0.14, "Chimney fire": 0.03})
PROPERTIES = {
    "Secondary fire": {"Grassland/refuse": (0.75, 0.95), "Other outdoor": (0.25, 0.93)},
    "Primary fire": {"Dwelling": (0.28, 0.15), "Road vehicle": (0.4, 0.7),
                     "Other building": (0.25, 0.45), "Other outdoor": (0.07, 0.6)},
    "Chimney fire": {"Dwelling": (1.0, 0.0)},
}
PROPERTY = {t: Choice({p: v[0] for p, v in props.items()}) for t, props in PROPERTIES.items()}
OTHER_TYPES = Choice({"False alarm": 0.6, "Non-fire incident": 0.4})
OTHER_PROPERTY = {"False alarm": Choice({"Dwelling": 0.55, "Other building": 0.45}),
                  "Non-fire incident": Choice({"Road vehicle": 0.4, "Dwelling": 0.3,
                                               "Other outdoor": 0.3})}
HOURS = Choice({str(h): w for h, w in enumerate(EVENING)})


def _incident(rng: np.random.Generator, fire: bool) -> tuple[str, str, str]:
    """(incident type, property category, accidental or deliberate)."""
    if not fire:
        kind = OTHER_TYPES(rng)
        return kind, OTHER_PROPERTY[kind](rng), ""
    kind = FIRE_TYPES(rng)
    prop = PROPERTY[kind](rng)
    if rng.random() < PROPERTIES[kind][prop][1]:
        return kind, prop, "Deliberate"
    return kind, prop, "Accidental" if rng.random() < 0.93 else "Not known"


def _harm(rng: np.random.Generator, kind: str, prop: str, motive: str) -> tuple[int, int, int]:
    """(fatalities, casualties, rescues): rare, and mostly at dwelling fires and road incidents."""
    if kind in ("Primary fire", "Chimney fire") and prop == "Dwelling":
        accidental = motive != "Deliberate"
        return (int(accidental and rng.random() < 0.004), int(rng.poisson(0.15 if accidental else 0.1)),
                int(rng.poisson(0.05)))
    if kind == "Non-fire incident":
        return int(rng.random() < 0.003), int(rng.poisson(0.4)), int(rng.poisson(0.25))
    if kind == "Primary fire":
        return 0, int(rng.poisson(0.02)), 0
    return 0, 0, 0


def _incidents(ctx: Context, day: date) -> list[dict]:
    area = ctx.area
    rng = night_rng(ctx.seed, "fire", day, area.la_code)
    season = SEASON[day.month] * SPIKES.get((day.month, day.day), 1.0)
    n_fires = int(rng.poisson(FIRES_PER_DAY * ctx.volume * season))
    n_other = int(rng.poisson(OTHER_PER_DAY * ctx.volume))
    hot = np.cumsum(ward_weights(area, 1.0, HOTSPOTS))[:-1]
    spread = np.cumsum(ward_weights(area, 0.4))[:-1]
    rows = []
    for i in range(n_fires + n_other):
        kind, prop, motive = _incident(rng, i < n_fires)
        ward = area.wards[int(np.searchsorted(hot if motive == "Deliberate" else spread,
                                              rng.random(), "right"))]
        hour = int(HOURS(rng)) if motive == "Deliberate" else int(rng.integers(0, 24))
        fatalities, casualties, rescues = _harm(rng, kind, prop, motive)
        rows.append({
            "INCIDENT_ID": f"CFB{area.number}{day:%Y%m%d}{i:04d}",
            "CALL_DATETIME": f"{day.isoformat()}T{hour:02d}:{int(rng.integers(0, 60)):02d}:"
                             f"{int(rng.integers(0, 60)):02d}",
            "FRS_NAME": "Cleveland", "LA_CODE": area.la_code, "WARD_CODE": ward.code,
            "WARD_NAME": ward.name, "LSOA_CODE": ward.lsoa_codes[int(rng.integers(0, 5))],
            "INCIDENT_TYPE": kind, "PROPERTY_CATEGORY": prop, "ACCIDENTAL_OR_DELIBERATE": motive,
            "FATALITIES": str(fatalities), "CASUALTIES": str(casualties), "RESCUES": str(rescues),
        })
    return rows


def incidents(ctx: Context) -> Night:
    header = ctx.header("fire", "incidents")

    def night(day: date) -> Table:
        return from_rows(_incidents(ctx, day), header)

    return night
