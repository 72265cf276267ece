"""Drug and alcohol treatment episodes in the NDTMS core data set layout.

Each episode is sent on its triage night (no discharge yet) and re-sent on its discharge night with
DISD and DISRSN. Adult clients come from a finite pool, so some return within six months of a
successful completion (representations). Young people are the world's people aged under 18.
"""

from __future__ import annotations

from datetime import date, timedelta

from csp_pipeline.synthetic.timeline import Sends, collect
from csp_pipeline.synthetic.world import Area, night_rng, people

PER_DAY = 1.3  # new adult episodes, Hartlepool
YOUNG_PER_DAY = 0.08
MAX_EPISODE_DAYS = 540
GROUPS = {  # substance profile: (share, drug choices)
    "opiate": (0.5, [["Heroin"], ["Heroin", "Crack cocaine"], ["Methadone"], ["Other opiate"]]),
    "non_opiate": (0.14, [["Cocaine"], ["Cannabis"], ["Amphetamine"], ["Benzodiazepines"]]),
    "non_opiate_alcohol": (0.08, [["Cocaine", "Alcohol"], ["Cannabis", "Alcohol"]]),
    "alcohol": (0.28, [["Alcohol"]]),
}
SUCCESS = {"opiate": 0.25, "non_opiate": 0.5, "non_opiate_alcohol": 0.45, "alcohol": 0.55}
COMPLETED = {"opiate": "Treatment completed - drug free",
             "non_opiate": "Treatment completed - drug free",
             "non_opiate_alcohol": "Treatment completed - occasional user",
             "alcohol": "Treatment completed - alcohol free"}
OTHER_ENDS = ["Dropped out/left", "Treatment withdrawn", "Transferred - not in custody",
              "Transferred - in custody", "Moved away", "Died", "Treatment declined"]
OTHER_P = [0.55, 0.1, 0.12, 0.1, 0.08, 0.02, 0.03]


def episodes(seed: int, area: Area, start: date, end: date, scale: float) -> Sends:
    young = [p for p in people(seed, area.la_code, scale)]
    pool = max(50, int(900 * area.weight * scale))
    code = area.la_code[-1]

    def arrivals(night: date) -> list[tuple[date, dict]]:
        rng = night_rng(seed, "treatment", night, area.la_code)
        out = []
        n_adult = rng.poisson(PER_DAY * area.weight * scale)
        n_young = rng.poisson(YOUNG_PER_DAY * area.weight * scale)
        for i in range(n_adult + n_young):
            if i < n_adult:
                k = int(rng.integers(0, pool))
                client = f"AD{code}{k:06d}"
                dob = date(1960 + k % 40, 1 + k % 12, 1 + k % 28)
                sex, ethnic = ("M" if k % 3 else "F"), "A"
            else:
                under_18 = [p for p in young if 12 <= p.age_on(night) <= 17]
                if not under_18:
                    continue
                p = under_18[int(rng.integers(0, len(under_18)))]
                client, dob, sex, ethnic = p.person_id, p.dob, p.sex, "A"
            group = str(rng.choice(list(GROUPS), p=[g[0] for g in GROUPS.values()]))
            drugs = GROUPS[group][1][int(rng.integers(0, len(GROUPS[group][1])))]
            referral = night - timedelta(days=int(rng.integers(0, 15)))
            row = {"CLIENTID": client, "EPISODID": f"EP{code}{night:%Y%m%d}{i:03d}", "DOB": dob.isoformat(),
                   "SEX": sex, "ETHNIC": ethnic, "LA_CODE": area.la_code,
                   "REFLD": referral.isoformat(),
                   "RFLS": str(rng.choice(["Self", "GP", "Criminal justice", "Hospital"])),
                   "TRIAGED": night.isoformat(), "DRUG1": drugs[0],
                   "DRUG2": drugs[1] if len(drugs) > 1 else "", "DRUG3": "", "DISD": "",
                   "DISRSN": ""}
            out.append((night, row))
            discharge = night + timedelta(days=int(rng.integers(30, MAX_EPISODE_DAYS)))
            reason = COMPLETED[group] if rng.random() < SUCCESS[group] else \
                str(rng.choice(OTHER_ENDS, p=OTHER_P))
            out.append((discharge, dict(row, DISD=discharge.isoformat(), DISRSN=reason)))
        return out

    return collect(start, end, MAX_EPISODE_DAYS, arrivals)
