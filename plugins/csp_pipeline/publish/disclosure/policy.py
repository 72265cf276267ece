"""Reading disclosure.yml into a Policy, checking each mart's rule as it is read."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from csp_pipeline.publish.disclosure.rules import (
    POLICY_FILE,
    Additive,
    Condition,
    Count,
    DisclosureError,
    MartRule,
    Policy,
    Shared,
    Subset,
)


def _condition(doc: dict) -> Condition | None:
    for word, negate in (("when", False), ("unless", True)):
        if word in doc:
            ((column, values),) = doc[word].items()
            return Condition(column, frozenset(str(v) for v in values), negate)
    return None


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def parse_policy(doc: dict) -> Policy:
    marts = {}
    for name, md in (doc.get("marts") or {}).items():
        md = md or {}
        counts = tuple(Count(c) if isinstance(c, str) else Count(c["column"], _condition(c))
                       for c in md.get("counts") or ())
        rule = MartRule(
            name=name, places=bool(md.get("places")), key=_tuple(md.get("key")) or (),
            public=_tuple(md.get("public")) or (), counts=counts,
            rates={r: tuple(deps) for r, deps in (md.get("rates") or {}).items()},
            additive=tuple(Additive(over=a["over"], columns=tuple(a["columns"]),
                                    total=a.get("total"), members=_tuple(a.get("members")))
                           for a in md.get("additive") or ()),
            subsets=tuple(Subset(whole=s["whole"], parts=tuple(s["parts"]),
                                 condition=_condition(s)) for s in md.get("subsets") or ()),
            shared=tuple(Shared(over=s["over"], columns=tuple(s["columns"]),
                                members=_tuple(s.get("members"))) for s in md.get("shared") or ()),
        )
        _check_rule(rule)
        marts[name] = rule
    return Policy(threshold=float(doc.get("threshold", 5)), marts=marts)


def _check_rule(rule: MartRule) -> None:
    if rule.places:
        return
    counts = set(rule.count_columns)
    problems = []
    if not rule.key:
        problems.append("a person mart needs a key")
    for rate, deps in rule.rates.items():
        problems += [f"rate {rate} depends on {d}, not a declared count" for d in deps
                     if d not in counts]
    for a in rule.additive:
        problems += [f"additive column {c} is not a count" for c in a.columns if c not in counts]
        if a.over not in rule.key:
            problems.append(f"additive over {a.over} is not a key column")
    for s in rule.subsets:
        problems += [f"subset column {c} is not a count" for c in (s.whole, *s.parts)
                     if c not in counts]
    for sh in rule.shared:
        problems += [f"shared column {c} is not a count" for c in sh.columns if c not in counts]
        if sh.over not in rule.key:
            problems.append(f"shared over {sh.over} is not a key column")
    if problems:
        raise DisclosureError(f"{POLICY_FILE.name}: {rule.name}: " + "; ".join(problems))


def load_policy(path: Path | None = None) -> Policy:
    return _load_cached(str(path or POLICY_FILE))


@cache
def _load_cached(path: str) -> Policy:
    return parse_policy(yaml.safe_load(Path(path).read_text()))
