"""Drug and alcohol treatment episodes in the NDTMS core data set layout.

Every client has a treatment career fixed by seed and area alone (episodes from 2006 to 2031): an
episode is sent the night it is triaged (DISD blank) and re-sent, same EPISODID, the night it closes
with DISD and DISRSN. Adults (about 450 new episodes a year in Hartlepool) come from a pool of
clients: about half opiate, 30% alcohol only, the rest non-opiate; about 40-45% of discharges are
successful completions, and some clients return within six months of completing (representations).
Young people are the area's people, triaged aged 12-17 under their council-wide person id (so
children known to youth justice can be found here); some return as adults.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property

import numpy as np

from csp_pipeline.synthetic.areas import areas, weight
from csp_pipeline.synthetic.context import Context, Night
from csp_pipeline.synthetic.people import population
from csp_pipeline.synthetic.table import Table, from_rows
from csp_pipeline.synthetic.timeline import area_rng
from csp_pipeline.synthetic.youth_justice import involved

EPOCH = (date(2006, 1, 1).toordinal(), date(2031, 12, 31).toordinal())
ADULT_CLIENTS = 6500  # Hartlepool pool over the epoch: about 450 new episodes a year
YOUNG_SHARE = 0.012  # of each birth cohort ever in young people's treatment: ~15 a year in Hartlepool
FROM_YOUTH_JUSTICE = 0.25  # share of young people's clients who are known to youth justice
MAX_EPISODES = 8
COMPLETED = ("Treatment completed - drug free", "Treatment completed - alcohol free",
             "Treatment completed - occasional user")
OTHER_ENDS = {"Dropped out/left": 0.55, "Treatment withdrawn": 0.06,
              "Transferred - not in custody": 0.14, "Transferred - in custody": 0.12,
              "Moved away": 0.06, "Died": 0.04, "Treatment declined": 0.03}
# After a discharge of this kind: chance of coming back, (minimum gap, mean extra gap) in days.
RETURNS = {"completed": (0.3, None), "Dropped out/left": (0.55, (20, 250)),
           "Treatment withdrawn": (0.55, (20, 250)), "Treatment declined": (0.55, (20, 250)),
           "Transferred - in custody": (0.6, (30, 250)),
           "Transferred - not in custody": (0.2, (100, 400)), "Moved away": (0.0, None),
           "Died": (0.0, None)}


@dataclass(frozen=True)
class Group:
    """A substance profile: share of clients, drug combinations, typical days, completion odds."""

    share: float
    drugs: tuple[tuple[tuple[str, ...], float], ...]
    median_days: float
    success: float
    completed: tuple[float, float, float]  # drug free, alcohol free, occasional user

    @cached_property
    def drugs_cum(self) -> list[float]:
        return _cumulative([w for _, w in self.drugs])

    @cached_property
    def completed_cum(self) -> list[float]:
        return _cumulative(list(self.completed))


def _cumulative(weights: list[float]) -> list[float]:
    """Cumulative shares, the last below 1 so a uniform draw never falls past the end."""
    total, out = sum(weights), []
    for w in weights[:-1]:
        out.append((out[-1] if out else 0) + w / total)
    return out


ADULT = {
    "Opiate": Group(0.5, ((("Heroin",), .35), (("Heroin", "Crack cocaine"), .35),
                          (("Methadone",), .1), (("Heroin", "Crack cocaine", "Alcohol"), .1),
                          (("Other opiate",), .05), (("Buprenorphine",), .05)),
                    550, 0.25, (0.7, 0, 0.3)),
    "Non-opiate only": Group(0.1, ((("Cocaine",), .35), (("Cannabis",), .3),
                                   (("Crack cocaine",), .1), (("Amphetamine",), .1),
                                   (("Benzodiazepines",), .05), (("Ketamine",), .05),
                                   (("New psychoactive substance",), .05)),
                             140, 0.65, (0.6, 0, 0.4)),
    "Non-opiate and alcohol": Group(0.1, ((("Alcohol", "Cocaine"), .6), (("Cannabis", "Alcohol"), .3),
                                          (("Alcohol", "Cocaine", "Cannabis"), .1)),
                                    160, 0.55, (0.3, 0.3, 0.4)),
    "Alcohol only": Group(0.3, ((("Alcohol",), 1.0),), 170, 0.6, (0, 0.75, 0.25)),
}
YOUNG = {
    "Cannabis": Group(0.55, ((("Cannabis",), 1.0),), 120, 0.75, (0.6, 0, 0.4)),
    "Cannabis and alcohol": Group(0.3, ((("Cannabis", "Alcohol"), .8),
                                        (("Alcohol", "Cannabis", "Ketamine"), .1),
                                        (("Cannabis", "Alcohol", "Cocaine"), .1)),
                                  120, 0.7, (0.3, 0.3, 0.4)),
    "Alcohol": Group(0.12, ((("Alcohol",), 1.0),), 100, 0.75, (0, 0.7, 0.3)),
    "Other": Group(0.03, ((("Cocaine",), .4), (("Ketamine",), .3), (("Heroin",), .3)),
                   150, 0.5, (0.6, 0, 0.4)),
}
ADULT_REFERRERS = {"Self": 0.45, "GP": 0.1, "Criminal justice": 0.15, "Hospital": 0.07,
                   "Social services": 0.05, "Other": 0.18}
YOUNG_REFERRERS = {"Education service": 0.3, "Youth justice service": 0.25,
                   "Social services": 0.2, "Self": 0.1, "Family": 0.1, "Health": 0.05}
ETHNIC = {"White": "A", "Mixed": "G", "Asian": "L", "Black": "P", "Other": "S"}  # NDTMS codes
ADULT_ETHNIC = {"A": 0.9, "C": 0.03, "G": 0.02, "L": 0.02, "P": 0.01, "S": 0.01, "Z": 0.01}


@dataclass(frozen=True, eq=False)
class Episodes:
    """All episodes of an area as columns (compact at scale 10); rows are made when sent."""

    client: list[str]  # per client
    dob: list[str]
    sex: list[str]
    ethnic: list[str]
    owner: np.ndarray  # per episode: position of its client in the lists above
    number: np.ndarray  # the client's episode number
    referred: np.ndarray  # date ordinals
    triaged: np.ndarray
    discharged: np.ndarray
    referrer: list[str]
    drugs: list[tuple[str, ...]]
    reason: list[str]

    @cached_property
    def _by_triage(self) -> np.ndarray:
        return np.argsort(self.triaged, kind="stable")

    @cached_property
    def _by_discharge(self) -> np.ndarray:
        return np.argsort(self.discharged, kind="stable")

    def triaged_on(self, day: date) -> list[int]:
        return _on(self.triaged, self._by_triage, day)

    def discharged_on(self, day: date) -> list[int]:
        return _on(self.discharged, self._by_discharge, day)


def _on(when: np.ndarray, order: np.ndarray, day: date) -> list[int]:
    lo, hi = np.searchsorted(when[order], [day.toordinal(), day.toordinal() + 1])
    return sorted(order[lo:hi].tolist())


def _draw(rng: np.random.Generator, options: dict, n: int) -> np.ndarray:
    p = np.array([v if isinstance(v, float) else v.share for v in options.values()])
    return rng.choice(len(options), size=n, p=p / p.sum())


def _careers(rng: np.random.Generator, groups: dict[str, Group], first: np.ndarray,
             young: bool) -> list[tuple[int, int, int, int, str, tuple[str, ...]]]:
    """(client, episode number, triage ordinal, discharge ordinal, reason, drugs) per episode.

    Vectorised over clients, one step per episode: all clients' first episodes, then second...
    """
    n = len(first)
    group = _draw(rng, groups, n)
    glist = list(groups.values())
    median = np.array([glist[g].median_days for g in group])
    success = np.array([glist[g].success for g in group])
    ends, end_p = list(OTHER_ENDS), np.array(list(OTHER_ENDS.values()))
    t = first.copy()
    alive = np.ones(n, dtype=bool)
    out = []
    for k in range(MAX_EPISODES):
        days = np.maximum(7, rng.lognormal(np.log(median), 0.6 if young else 0.7)).astype(np.int64)
        done = rng.random(n) < success
        other = rng.choice(len(ends), size=n, p=end_p)
        completed_kind = rng.random(n)
        combo = rng.random(n)
        ret = rng.random(n)
        soon = rng.random(n) < 0.45
        gap_u = rng.random(n)
        for c in np.nonzero(alive & (t <= EPOCH[1]))[0].tolist():
            g = glist[group[c]]
            reason = COMPLETED[bisect_right(g.completed_cum, completed_kind[c])] if done[c] \
                else ends[other[c]]
            drugs = g.drugs[bisect_right(g.drugs_cum, combo[c])][0]
            out.append((c, k, int(t[c]), int(t[c] + days[c]), reason, drugs))
            back, gap = RETURNS["completed" if done[c] else reason]
            if ret[c] >= back:
                alive[c] = False
            elif gap is None:  # after a completion: some soon (representation), most much later
                t[c] += days[c] + (14 + int(gap_u[c] * 168) if soon[c] else 183 + int(gap_u[c] * 2300))
            else:
                t[c] += days[c] + gap[0] + int(-gap[1] * np.log(1 - gap_u[c]))
        alive &= t <= EPOCH[1]
        if not alive.any():
            break
    return out


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@cache
def episodes(seed: int, la_code: str, scale: float) -> Episodes:
    area = next(a for a in areas() if a.la_code == la_code)
    pop = population(seed, la_code, scale)
    rng = area_rng(seed, "treatment", la_code)
    volume = weight(area) * scale
    # Adults: a pool of clients arriving uniformly over the epoch, aged 20-58 at first triage.
    n_adult = max(20, round(ADULT_CLIENTS * volume))
    first = rng.integers(EPOCH[0], EPOCH[1], n_adult)
    adult_dob = first - (rng.uniform(20, 58, n_adult) * 365.25).astype(np.int64)
    adult_sex = np.where(rng.random(n_adult) < 0.67, "M", "F")
    adult_eth = np.array(list(ADULT_ETHNIC))[_draw(rng, ADULT_ETHNIC, n_adult)]
    # Young people, first triaged aged 12-17: some referred by the youth justice service, the
    # rest drawn towards the riskiest.
    n_young = max(5, round(YOUNG_SHARE * len(pop)))
    yjs = involved(seed, la_code, scale)
    referred = rng.choice(yjs, size=min(len(yjs), round(n_young * FROM_YOUTH_JUSTICE)), replace=False)
    w = pop.risk**2
    w[referred] = 0
    others = rng.choice(len(pop), size=n_young - len(referred), replace=False, p=w / w.sum())
    young = np.sort(np.concatenate([referred, others]))
    young_first = pop.dob_ord[young] + (rng.uniform(12.05, 17.95, n_young) * 365.25).astype(np.int64)
    client, dob, sex, ethnic = [], [], [], []
    cols: dict[str, list] = {k: [] for k in ("owner", "number", "referred", "triaged",
                                             "discharged", "referrer", "drugs", "reason")}
    for people, careers in (("adult", _careers(rng, ADULT, first, False)),
                            ("young", _careers(rng, YOUNG, young_first, True))):
        refer = ADULT_REFERRERS if people == "adult" else YOUNG_REFERRERS
        referrers = np.array(list(refer))[_draw(rng, refer, len(careers))].tolist()
        waits = rng.integers(0, 22, len(careers)).tolist()
        owners: dict[int, int] = {}
        for (c, k, triage, discharge, reason, drugs), rfls, wait in zip(careers, referrers, waits, strict=False):
            if c not in owners:
                owners[c] = len(client)
                if people == "adult":
                    client.append(f"{area.prefix}{len(pop) + c:06d}")
                    dob.append(_iso(int(adult_dob[c])))
                    sex.append(str(adult_sex[c]))
                    ethnic.append(str(adult_eth[c]))
                else:
                    person = pop.person(int(young[c]))
                    client.append(person.person_id)
                    dob.append(person.dob)
                    sex.append(person.sex)
                    ethnic.append(ETHNIC.get(person.ethnicity, "Z"))
            if people == "young" and k > 0 and pop.age(int(young[c]), date.fromordinal(triage)) >= 18:
                rfls = "Self"  # a returning young person is an adult client now
            for name, value in (("owner", owners[c]), ("number", k), ("referred", triage - wait),
                                ("triaged", triage), ("discharged", discharge),
                                ("referrer", rfls), ("drugs", drugs), ("reason", reason)):
                cols[name].append(value)
    numbers = ("owner", "number", "referred", "triaged", "discharged")
    return Episodes(client, dob, sex, ethnic,
                    **{k: np.array(cols[k], dtype=np.int32) for k in numbers},
                    referrer=cols["referrer"], drugs=cols["drugs"], reason=cols["reason"])


def _row(eps: Episodes, i: int, la_code: str, number: int, closed: bool) -> dict[str, str]:
    who = int(eps.owner[i])
    drugs = (*eps.drugs[i], "", "")
    return {"CLIENTID": eps.client[who], "EPISODID": f"EP{number}{i:07d}",
            "DOB": eps.dob[who], "SEX": eps.sex[who], "ETHNIC": eps.ethnic[who], "LA_CODE": la_code,
            "REFLD": _iso(int(eps.referred[i])), "RFLS": eps.referrer[i],
            "TRIAGED": _iso(int(eps.triaged[i])), "DRUG1": drugs[0], "DRUG2": drugs[1],
            "DRUG3": drugs[2], "DISD": _iso(int(eps.discharged[i])) if closed else "",
            "DISRSN": eps.reason[i] if closed else ""}


def treatment_episodes(ctx: Context) -> Night:
    header = ctx.header("substance_misuse", "treatment_episodes")
    eps = episodes(ctx.seed, ctx.area.la_code, ctx.scale)

    def night(day: date) -> Table:
        area = ctx.area
        rows = [_row(eps, i, area.la_code, area.number, False)
                for i in eps.triaged_on(day)]
        rows += [_row(eps, i, area.la_code, area.number, True)
                 for i in eps.discharged_on(day)]
        return from_rows(rows, header)

    return night
