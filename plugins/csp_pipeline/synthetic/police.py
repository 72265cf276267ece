"""Police recorded crime and anti-social behaviour in the police.uk street-level layout.

About 38 incidents a day in Hartlepool (1,100-1,200 a month with ASB), other areas by population.
Crimes are sent the night they are recorded ("Under investigation") and re-sent, same Incident ID,
when their outcome changes: most within weeks, court cases again months later.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta

import numpy as np

from csp_pipeline.synthetic.areas import ward_weights
from csp_pipeline.synthetic.context import Context, Night
from csp_pipeline.synthetic.table import Table, from_rows
from csp_pipeline.synthetic.timeline import Choice, night_rng, nights

PER_DAY = 35.0  # Hartlepool, crimes and ASB
SEASON = {1: 0.9, 2: 0.9, 3: 0.97, 4: 1.0, 5: 1.05, 6: 1.08, 7: 1.1, 8: 1.08, 9: 1.02, 10: 1.0,
          11: 0.98, 12: 0.92}
TYPES = {  # police.uk category: share of incidents
    "Anti-social behaviour": 0.22, "Violence and sexual offences": 0.30, "Shoplifting": 0.08,
    "Criminal damage and arson": 0.09, "Public order": 0.08, "Other theft": 0.05,
    "Burglary": 0.04, "Vehicle crime": 0.04, "Drugs": 0.03, "Other crime": 0.025,
    "Possession of weapons": 0.01, "Robbery": 0.01, "Theft from the person": 0.007,
    "Bicycle theft": 0.008,
}
OPEN = "Under investigation"
FINAL = {"Investigation complete; no suspect identified": 0.40, "Unable to prosecute suspect": 0.33,
         "Awaiting court outcome": 0.10, "Local resolution": 0.05,
         "Further investigation is not in the public interest": 0.03,
         "Action to be taken by another organisation": 0.03, "Offender given a caution": 0.02,
         "Formal action is not in the public interest": 0.02,
         "Offender given penalty notice": 0.01, "Suspect charged as part of another case": 0.01}
COURT = {"Offender sent to prison": 0.18, "Offender given suspended prison sentence": 0.14,
         "Offender given community sentence": 0.2, "Offender fined": 0.2,
         "Offender given conditional discharge": 0.08, "Offender otherwise dealt with": 0.05,
         "Defendant found not guilty": 0.08, "Court case unable to proceed": 0.07}
UPDATED = 0.85  # share of crimes given a final outcome later
MAX_LAG = 300  # days from recording to the last possible update
PLACES = ["Supermarket", "Shopping Area", "Parking Area", "Petrol Station", "Sports/Recreation Area",
          "Nightclub", "Park/Open Space", "Further/Higher Educational Building", "Hospital",
          "Bus/Coach Station", "Conference/Exhibition Centre", "Pedestrian Subway"]
STREETS = ["High Street", "Church Street", "York Road", "Park Road", "Station Road", "Victoria Road",
           "Stockton Road", "Raby Road", "Elwick Road", "Oxford Road", "Durham Street",
           "Grange Road", "Marine Drive", "Queen Street", "King Street", "Northgate", "Albert Road",
           "Linthorpe Road", "Middlesbrough Road", "West Dyke Road", "Yarm Road", "Norton Road",
           "Dovecot Street", "Bishopton Road", "Acklam Road", "Marton Road", "Coatham Road"]


PICK_TYPE, PICK_FINAL, PICK_COURT = Choice(TYPES), Choice(FINAL), Choice(COURT)


def _recorded(ctx: Context, day: date, since: date | None = None
              ) -> tuple[list[dict], list[tuple[date, dict]]]:
    """The night's new incidents, and their later re-sends as (send date, row).

    With `since` (warming up before the range) only incidents re-sent on or after it are built.
    """
    area = ctx.area
    rng = night_rng(ctx.seed, "police", day, area.la_code)
    n = int(rng.poisson(PER_DAY * ctx.volume * SEASON[day.month]))
    types = PICK_TYPE.many(rng, n)
    wards = rng.choice(len(area.wards), size=n, p=ward_weights(area, 0.6, ("Victoria",)))
    lsoa = rng.integers(0, 5, n)
    jitter = rng.normal(0, 0.006, (n, 2))
    street = rng.integers(0, len(STREETS) + len(PLACES), n)
    lag1 = 3 + rng.geometric(1 / 25, n)
    lag2 = lag1 + 20 + rng.geometric(1 / 45, n)
    updated = rng.random(n) < UPDATED
    finals = PICK_FINAL.many(rng, n)
    courts = PICK_COURT.many(rng, n)
    last = np.where(updated, np.where(np.array(finals) == "Awaiting court outcome", lag2, lag1), 0)
    wanted = range(n) if since is None else \
        np.nonzero(last >= (since - day).days)[0].tolist()
    rows, later = [], []
    for i in wanted:
        w = area.wards[wards[i]]
        incident = f"CP{area.number}{day:%Y%m%d}{i:05d}"
        asb = types[i] == "Anti-social behaviour"
        s = int(street[i])
        row = {
            "Crime ID": "" if asb else hashlib.sha256(f"{ctx.seed}:{incident}".encode()).hexdigest(),
            "Month": f"{day:%Y-%m}", "Reported by": "Cleveland Police",
            "Falls within": "Cleveland Police",
            "Longitude": f"{w.centre[1] + jitter[i, 1]:.6f}",
            "Latitude": f"{w.centre[0] + jitter[i, 0]:.6f}",
            "Location": "On or near " + (STREETS[s] if s < len(STREETS) else PLACES[s - len(STREETS)]),
            "LSOA code": w.lsoa_codes[lsoa[i]], "LSOA name": w.lsoa_names[lsoa[i]],
            "Crime type": types[i], "Last outcome category": "" if asb else OPEN, "Context": "",
            "Incident ID": incident, "Recorded date": day.isoformat(), "Ward code": w.code,
        }
        rows.append(row)
        if asb or not updated[i] or lag1[i] > MAX_LAG:
            continue
        later.append((day + timedelta(days=int(lag1[i])), {**row, "Last outcome category": finals[i]}))
        if finals[i] == "Awaiting court outcome" and lag2[i] <= MAX_LAG:
            later.append((day + timedelta(days=int(lag2[i])),
                          {**row, "Last outcome category": courts[i]}))
    return rows, later


def crimes(ctx: Context) -> Night:
    """Nights must be asked for in order from ctx.start; updates of earlier crimes are queued."""
    header = ctx.header("police", "crimes")
    pending: dict[date, list[dict]] = defaultdict(list)
    for past in nights(ctx.start - timedelta(days=MAX_LAG), ctx.start - timedelta(days=1)):
        for when, row in _recorded(ctx, past, since=ctx.start)[1]:
            if when >= ctx.start:
                pending[when].append(row)
    expected = [ctx.start]

    def night(day: date) -> Table:
        if day != expected[0]:
            raise ValueError(f"police nights must be generated in order: got {day}, "
                             f"expected {expected[0]}")
        expected[0] = day + timedelta(days=1)
        rows, later = _recorded(ctx, day)
        for when, row in later:
            pending[when].append(row)
        return from_rows(rows + pending.pop(day, []), header)

    return night
