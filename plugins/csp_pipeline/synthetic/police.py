"""Police recorded crime and anti-social behaviour in the police.uk street-level layout.

About 38 incidents a day in Hartlepool. A share of each night's incidents is re-sent 30 days later
with an updated outcome (same Incident ID), as police systems re-extract updated records.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from csp_pipeline.synthetic.world import Area, night_rng

PER_DAY = 38.0
UPDATE_AFTER = timedelta(days=30)
UPDATE_SHARE = 0.2
TYPES = {  # police.uk category: share of incidents
    "Anti-social behaviour": 0.24, "Violence and sexual offences": 0.28, "Shoplifting": 0.08,
    "Criminal damage and arson": 0.09, "Public order": 0.08, "Other theft": 0.05,
    "Burglary": 0.04, "Vehicle crime": 0.04, "Drugs": 0.03, "Other crime": 0.02,
    "Possession of weapons": 0.01, "Robbery": 0.01, "Theft from the person": 0.01,
    "Bicycle theft": 0.02,
}
OPEN = "Under investigation"
CLOSED = ["Investigation complete; no suspect identified", "Unable to prosecute suspect",
          "Offender given a caution", "Awaiting court outcome", "Local resolution"]


def _recorded(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    rng = night_rng(seed, "police", day, area.la_code)
    names, shares = zip(*TYPES.items())
    rows = []
    for i in range(rng.poisson(PER_DAY * area.weight * scale)):
        crime_type = str(rng.choice(names, p=shares))
        ward_code, _ = area.wards[int(rng.integers(0, len(area.wards)))]
        asb = crime_type == "Anti-social behaviour"
        incident = f"CP{area.la_code[-1]}{day:%Y%m%d}{i:05d}"
        rows.append({
            "Crime ID": "" if asb else hashlib.sha256(f"{seed}:{incident}".encode()).hexdigest(),
            "Month": f"{day:%Y-%m}", "Reported by": "Cleveland Police",
            "Falls within": "Cleveland Police",
            "Longitude": f"{-1.21 - rng.random() / 10:.6f}",
            "Latitude": f"{54.55 + rng.random() / 10:.6f}",
            "Location": f"On or near {area.la_name} Road {int(rng.integers(1, 300))}",
            "LSOA code": f"E0100{int(area.la_code[-1])}{int(rng.integers(0, 1000)):03d}",
            "LSOA name": f"{area.la_name} {int(rng.integers(1, 20)):03d}A",
            "Crime type": crime_type, "Last outcome category": "" if asb else OPEN,
            "Context": "", "Incident ID": incident,
            "Recorded date": day.isoformat(), "Ward code": ward_code,
        })
    return rows


def crimes(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    """That night's new incidents, then updated outcomes for incidents recorded 30 days before."""
    rows = _recorded(seed, area, day, scale)
    rng = night_rng(seed, "police-updates", day, area.la_code)
    for row in _recorded(seed, area, day - UPDATE_AFTER, scale):
        if row["Crime ID"] and rng.random() < UPDATE_SHARE:
            rows.append(dict(row, **{"Last outcome category": str(rng.choice(CLOSED))}))
    return rows
