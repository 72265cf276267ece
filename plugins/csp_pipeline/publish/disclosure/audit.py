"""The attacker's view of a group of relations taken together: an exact integer search for a
suppressed cell (or an unpublished remainder of 1-4) that they pin to one value."""

from __future__ import annotations

import logging
from collections import defaultdict
from itertools import pairwise

from csp_pipeline.publish.disclosure.relations import Cell, Relation, smallest_shown, sum_known
from csp_pipeline.publish.disclosure.rules import Policy
from csp_pipeline.publish.disclosure.solver import Equation, Var, pinned_unknowns

log = logging.getLogger(__name__)


def pinned_cell(policy: Policy, mart: str, rels: list[Relation],
                link_groups: list[frozenset[Cell]], hidden: set[Cell], countable: set[Cell],
                value) -> Cell | None:
    """A cell to suppress next if some suppressed cell, or unpublished remainder of 1-4, is
    pinned to one value by this group's relations taken together; None when nothing is."""
    eqs: list[Equation] = []
    owners: dict[Var, list[Relation]] = defaultdict(list)
    truth: dict[Var, int] = {}
    lower: dict[Var, int] = {}

    def fold(terms: list[tuple[int, Var]], const: int) -> Equation:
        kept = []
        for coef, v in terms:
            if v in truth and lower[v] == 0:  # a remainder
                kept.append((coef, v))
            elif v in hidden:
                truth[v], lower[v] = int(value(v)), 1
                kept.append((coef, v))
            else:
                const -= coef * value(v)
        return tuple(kept), int(const)

    for n, rel in enumerate(rels):
        if not sum_known(rel, hidden, value):
            continue
        terms: list[tuple[int, Var]] = [(1, c) for c in rel.parts]
        const = sum(value(c) for c in rel.parts) if rel.total is None else 0
        if rel.total is not None:
            terms.append((-1, rel.total))
        if rel.remainder is not None:
            rest = ("remainder", n)
            truth[rest], lower[rest] = int(rel.remainder), 0
            terms.append((1, rest))
            owners[rest].append(rel)
        for c in rel.cells:
            owners[c].append(rel)
        eqs.append(fold(terms, const))
    for group in link_groups:
        cells = sorted(group)
        eqs += [fold([(1, a), (-1, b)], 0) for a, b in pairwise(cells)]
    eqs = [e for e in eqs if e[0]]
    watch = sorted((v for v in truth if lower[v] == 1 or policy.sensitive(truth[v])), key=str)
    if not watch:
        return None
    for v in pinned_unknowns(eqs, lower, truth, watch):
        picks = [p for rel in owners[v] if (p := smallest_shown(rel, hidden, countable, value))]
        if not picks:  # its own relations have nothing left to hide: any cell of the group
            picks = [c for rel in rels for c in rel.cells
                     if c in countable and c not in hidden and value(c)]
        if picks:
            return min(picks, key=lambda c: (value(c), c))
        log.warning("%s: %s is pinned by the declared relations and its group has nothing "
                    "left to suppress", mart, v)
    return None
