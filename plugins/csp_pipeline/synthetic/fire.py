"""Fire incidents: Hartlepool about 70-120 fires a month, mostly deliberate secondary fires."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from csp_pipeline.synthetic.world import Area, night_rng

FIRES_PER_DAY = 2.8  # Hartlepool; other areas by population
OTHER_INCIDENTS_PER_DAY = 2.0  # false alarms and non-fire incidents
SEASON = {3: 1.2, 4: 1.4, 5: 1.3, 10: 1.1, 11: 1.3}  # spring grass fires, bonfire season


def incidents(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    rng = night_rng(seed, "fire", day, area.la_code)
    lam = area.weight * scale * SEASON.get(day.month, 1.0)
    n_fires = rng.poisson(FIRES_PER_DAY * lam)
    n_other = rng.poisson(OTHER_INCIDENTS_PER_DAY * area.weight * scale)
    rows = []
    for i in range(n_fires + n_other):
        if i < n_fires:
            kind = str(rng.choice(["Secondary fire", "Primary fire", "Chimney fire"],
                                  p=[0.8, 0.18, 0.02]))
        else:
            kind = str(rng.choice(["False alarm", "Non-fire incident"], p=[0.6, 0.4]))
        if kind == "Secondary fire":
            prop = str(rng.choice(["Grassland/refuse", "Other outdoor"], p=[0.7, 0.3]))
            motive = "Deliberate" if rng.random() < 0.93 else "Accidental"
        elif kind == "Primary fire":
            prop = str(rng.choice(["Dwelling", "Other building", "Road vehicle"], p=[0.45, 0.2, 0.35]))
            motive = "Deliberate" if rng.random() < (0.25 if prop == "Dwelling" else 0.6) else \
                str(rng.choice(["Accidental", "Not known"], p=[0.9, 0.1]))
        elif kind == "Chimney fire":
            prop, motive = "Dwelling", "Accidental"
        else:
            prop = str(rng.choice(["Dwelling", "Other building"]))
            motive = ""
        acc_dwelling = kind == "Primary fire" and prop == "Dwelling" and motive != "Deliberate"
        ward_code, ward_name = area.wards[int(rng.integers(0, len(area.wards)))]
        when = datetime.combine(day, datetime.min.time()) + timedelta(
            seconds=int(rng.integers(0, 86_400)))
        rows.append({
            "INCIDENT_ID": f"CFB{area.la_code[-1]}{day:%Y%m%d}{i:04d}",
            "CALL_DATETIME": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "FRS_NAME": "Cleveland", "LA_CODE": area.la_code,
            "WARD_CODE": ward_code, "WARD_NAME": ward_name,
            "LSOA_CODE": f"E0100{int(area.la_code[-1])}{int(rng.integers(0, 1000)):03d}",
            "INCIDENT_TYPE": kind, "PROPERTY_CATEGORY": prop, "ACCIDENTAL_OR_DELIBERATE": motive,
            "FATALITIES": int(acc_dwelling and rng.random() < 0.01),
            "CASUALTIES": int(rng.poisson(0.15)) if acc_dwelling else 0,
            "RESCUES": int(rng.poisson(0.05)) if kind != "Secondary fire" else 0,
        })
    return rows
