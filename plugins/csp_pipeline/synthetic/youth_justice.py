"""Youth justice case management: children, offences, outcomes, victims, board attendance.

Outcomes arrive at about 60 a year in Hartlepool; a skewed pick of children makes some return
(reoffending). Offences are sent with the outcome that proves them; orders and out-of-court
programmes are re-sent when they end, with the end-of-order KPI fields filled in.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from csp_pipeline.synthetic.timeline import Sends, collect
from csp_pipeline.synthetic.world import Area, Person, night_rng, people

OUTCOMES_PER_DAY = 0.17  # Hartlepool
LADDER = {  # outcome type: (share, months until it ends or None, is an order/programme)
    "Prevention": (0.14, 3), "Triage": (0.16, 3), "Community Resolution": (0.08, None),
    "Outcome 22": (0.05, 3), "Youth Caution": (0.07, 3), "Youth Conditional Caution": (0.06, 4),
    "Referral Order": (0.18, 9), "Fine": (0.02, None), "Conditional Discharge": (0.03, None),
    "Reparation Order": (0.02, 3), "Youth Rehabilitation Order": (0.13, 12),
    "Detention and Training Order": (0.025, 8), "Section 250 Detention": (0.005, 24),
    "Remand to Youth Detention Accommodation": (0.02, 2),
}
OFFENCES = {  # category: (share, gravity range)
    "Violence Against the Person": (0.3, (2, 6)), "Theft and Handling Stolen Goods": (0.12, (1, 4)),
    "Criminal Damage": (0.1, (2, 4)), "Public Order": (0.09, (2, 4)), "Drugs": (0.08, (2, 6)),
    "Motoring Offences": (0.06, (1, 4)), "Robbery": (0.04, (5, 7)),
    "Domestic Burglary": (0.03, (4, 6)), "Non Domestic Burglary": (0.03, (3, 5)),
    "Vehicle Theft / Unauthorised Taking": (0.03, (3, 5)), "Sexual Offences": (0.02, (5, 8)),
    "Breach of Statutory Order": (0.03, (2, 4)), "Breach of Bail": (0.01, (1, 3)),
    "Breach of Conditional Discharge": (0.01, (1, 3)), "Arson": (0.01, (3, 6)),
    "Fraud and Forgery": (0.01, (2, 4)), "Racially Aggravated": (0.005, (3, 5)),
    "Other": (0.005, (1, 3)),
}
KPI_FIELDS = ["ACCOMMODATION_SUITABLE", "ETE_SUITABLE", "SEND_IDENTIFIED", "SEND_PLAN", "MH_NEED",
              "MH_INTERVENTION", "SM_NEED", "SM_INTERVENTION", "PROGRAMME_COMPLETED",
              "WIDER_SERVICES"]
KPI_YES = [0.9, 0.65, 0.3, 0.6, 0.4, 0.75, 0.35, 0.7, 0.8, 0.5]
BOARD_MONTHS = (2, 5, 8, 11)
PARTNERS = ["Police", "Social care", "Education", "Health", "Probation"]
MAX_ORDER_DAYS = 24 * 31


def _child_row(p: Person) -> dict:
    return {"CHILD_ID": p.person_id, "FORENAME": p.forename, "SURNAME": p.surname,
            "DATE_OF_BIRTH": p.dob.isoformat(), "SEX": p.sex, "ETHNICITY": p.ethnicity,
            "POSTCODE": p.postcode, "LA_CODE": p.la_code, "CARE_STATUS": p.care_status,
            "UPN": p.upn}


def case_records(seed: int, area: Area, start: date, end: date, scale: float) -> dict[str, Sends]:
    """Sends per kind (children, offences, outcomes, victims) for nights in [start, end]."""
    everyone = people(seed, area.la_code, scale)
    code = area.la_code[-1]
    types = list(LADDER)
    type_p = np.array([LADDER[t][0] for t in types])
    type_p = type_p / type_p.sum()
    cats = list(OFFENCES)
    cat_p = np.array([OFFENCES[c][0] for c in cats])
    cat_p = cat_p / cat_p.sum()

    def arrivals(night: date) -> list[tuple[date, dict]]:
        rng = night_rng(seed, "youth_justice", night, area.la_code)
        eligible = [p for p in everyone if 10 <= p.age_on(night) <= 17]
        out = []
        for i in range(rng.poisson(OUTCOMES_PER_DAY * area.weight * scale)):
            if not eligible:
                break
            # Skewed choice: low indexes come back often (reoffending), most appear once.
            child = eligible[min(len(eligible) - 1, int(rng.pareto(1.1) * 3))
                             if rng.random() < 0.35 else int(rng.integers(0, len(eligible)))]
            kind = str(rng.choice(types, p=type_p))
            outcome_id = f"OUT{code}{night:%Y%m%d}{i:02d}"
            months = LADDER[kind][1]
            ends = night + timedelta(days=int(months * 30.4)) if months else None
            outcome = {"OUTCOME_ID": outcome_id, "CHILD_ID": child.person_id,
                       "OUTCOME_DATE": night.isoformat(), "OUTCOME_TYPE": kind,
                       "START_DATE": night.isoformat() if months else "",
                       "END_DATE": "", **{f: "" for f in KPI_FIELDS}}
            out.append((night, {"_kind": "children", **_child_row(child)}))
            out.append((night, {"_kind": "outcomes", **outcome}))
            if ends:
                kpis = {f: ("Y" if rng.random() < p else "N") for f, p in zip(KPI_FIELDS, KPI_YES)}
                out.append((ends, {"_kind": "outcomes", **outcome, "END_DATE": ends.isoformat(),
                                   **kpis}))
            if kind not in ("Prevention",):
                for j in range(1 + int(rng.poisson(0.4))):
                    cat = str(rng.choice(cats, p=cat_p))
                    lo, hi = OFFENCES[cat][1]
                    offence_day = night - timedelta(days=int(rng.integers(7, 90)))
                    out.append((night, {"_kind": "offences",
                                        "OFFENCE_ID": f"OFF{code}{night:%Y%m%d}{i:02d}{j}",
                                        "CHILD_ID": child.person_id,
                                        "OFFENCE_DATE": offence_day.isoformat(),
                                        "OFFENCE_CATEGORY": cat,
                                        "GRAVITY_SCORE": int(rng.integers(lo, hi + 1)),
                                        "OUTCOME_ID": outcome_id}))
                for v in range(int(rng.poisson(0.5))):
                    out.append((night, {"_kind": "victims", "VICTIM_ID": f"V{outcome_id}{v}",
                                        "OUTCOME_ID": outcome_id,
                                        "CONSENTED_TO_CONTACT": "Y" if rng.random() < 0.7 else "N",
                                        "ENGAGED_RJ": "Y" if rng.random() < 0.3 else "N"}))
        return out

    merged = collect(start, end, MAX_ORDER_DAYS, arrivals)
    by_kind: dict[str, Sends] = {k: {} for k in ("children", "offences", "outcomes", "victims")}
    for night, rows in merged.items():
        for row in rows:
            kind = row.pop("_kind")
            by_kind[kind].setdefault(night, []).append(row)
    for night, rows in by_kind["children"].items():  # one row per child and night
        by_kind["children"][night] = list({r["CHILD_ID"]: r for r in rows}.values())
    return by_kind


def board_attendance(seed: int, area: Area, day: date, scale: float) -> list[dict]:
    """Quarterly management board, on the second Tuesday of Feb, May, Aug and Nov."""
    if day.month not in BOARD_MONTHS or day.weekday() != 1 or not 8 <= day.day <= 14:
        return []
    rng = night_rng(seed, "board", day, area.la_code)
    return [{"MEETING_DATE": day.isoformat(), "LA_CODE": area.la_code, "PARTNER": partner,
             "SENIOR_ATTENDED": "Y" if rng.random() < 0.85 else "N"} for partner in PARTNERS]
