"""Education: termly attendance per pupil, suspensions and exclusions, monthly NEET tracking.

Pupils are the world's people of school age (NCY from date of birth). Attendance arrives once a
term, on the term's last day; NEET on the first of each month for academic ages 16-17.
"""

from __future__ import annotations

from datetime import date

from csp_pipeline.synthetic.world import Area, Person, night_rng, people

TERM_ENDS = {(12, 20): "Autumn", (4, 5): "Spring", (7, 20): "Summer"}
SCHOOLS = 8  # per area


def academic_year(day: date) -> int:
    """Starting calendar year of the academic year (September to August)."""
    return day.year if day.month >= 9 else day.year - 1


def ncy(person: Person, day: date) -> int:
    """National curriculum year: age on 31 August before the academic year, minus 4."""
    return academic_year(day) - person.dob.year - (1 if person.dob.month >= 9 else 0) - 4


def school_urn(area: Area, person: Person) -> str:
    return f"{100000 + int(area.la_code[-1]) * 1000 + int(person.person_id[-3:]) % SCHOOLS}"


def pupils(seed: int, area: Area, day: date, scale: float) -> list[Person]:
    return [p for p in people(seed, area.la_code, scale) if 1 <= ncy(p, day) <= 11]


def attendance(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    term = TERM_ENDS.get((day.month, day.day))
    if not term:
        return []
    rng = night_rng(seed, "attendance", day, area.la_code)
    year = academic_year(day)
    rows = []
    for p in pupils(seed, area, day, scale):
        possible = int(rng.integers(120, 131))
        absent_share = rng.beta(1.2, 14)  # mean ~8%, a fifth at 10% or more
        missed = int(round(possible * absent_share))
        unauthorised = int(round(missed * rng.random() * 0.6))
        rows.append({
            "UPN": p.upn, "DATE_OF_BIRTH": p.dob.isoformat(), "LA_CODE": area.la_code,
            "SCHOOL_URN": school_urn(area, p), "ACADEMIC_YEAR": f"{year}{(year + 1) % 100:02d}",
            "TERM": term, "NCY": ncy(p, day), "SESSIONS_POSSIBLE": possible,
            "SESSIONS_AUTHORISED": missed - unauthorised, "SESSIONS_UNAUTHORISED": unauthorised,
            "SEN_PROVISION": str(rng.choice(["N", "K", "E"], p=[0.83, 0.13, 0.04])),
        })
    return rows


def exclusions(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    if day.weekday() >= 5 or day.month == 8:
        return []
    rng = night_rng(seed, "exclusions", day, area.la_code)
    roll = pupils(seed, area, day, scale)
    rows = []
    for i in range(rng.poisson(len(roll) * 0.0012)):
        p = roll[int(rng.integers(0, len(roll)))]
        perm = rng.random() < 0.02
        rows.append({
            "EXCLUSION_ID": f"EX{area.la_code[-1]}{day:%Y%m%d}{i:03d}", "UPN": p.upn,
            "LA_CODE": area.la_code, "SCHOOL_URN": school_urn(area, p),
            "START_DATE": day.isoformat(), "CATEGORY": "PERM" if perm else "SUSP",
            "SESSIONS": "" if perm else int(rng.integers(1, 11)),
            "REASON_CODE": str(rng.choice(["PA", "VP", "DB", "DA", "BU", "OT"])),
        })
    return rows


def neet(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    if day.day != 1:
        return []
    rng = night_rng(seed, "neet", day, area.la_code)
    rows = []
    for p in people(seed, area.la_code, scale):
        if ncy(p, day) not in (12, 13):  # academic age 16-17
            continue
        group = str(rng.choice(["EET", "NEET", "NOT_KNOWN"], p=[0.915, 0.05, 0.035]))
        code = {"EET": rng.choice(["210", "220", "230"]), "NEET": rng.choice(["610", "620"]),
                "NOT_KNOWN": "810"}[group]
        rows.append({"PERSON_ID": p.person_id, "DATE_OF_BIRTH": p.dob.isoformat(),
                     "LA_CODE": area.la_code, "MONTH": f"{day:%Y-%m}", "ACTIVITY_GROUP": group,
                     "ACTIVITY_CODE": str(code)})
    return rows
