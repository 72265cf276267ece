"""The additive relations and equal-cell links between a mart's cells that a reader could use
to recover a suppressed cell by subtraction, as declared in its rule."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from csp_pipeline.publish.disclosure.rules import MartRule

log = logging.getLogger(__name__)

Cell = tuple[int, str]  # (row index, column)


@dataclass(frozen=True)
class Relation:
    """total = sum(parts) (+ remainder). total None: the sum is known without a published cell.
    remainder: the value of an unpublished count that completes the sum, if there is one."""

    parts: tuple[Cell, ...]
    total: Cell | None
    remainder: float | None = None

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.parts + ((self.total,) if self.total else ())


def _group(rows: list[dict], key: tuple[str, ...], over: str) -> dict[tuple, list[int]]:
    rest = [k for k in key if k != over]
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[tuple(row[k] for k in rest)].append(i)
    return groups


def relations(rule: MartRule, rows: list[dict]) -> list[Relation]:
    """Every declared additive relation between the cells of these rows."""
    out: list[Relation] = []
    for a in rule.additive:
        for members in _group(rows, rule.key, a.over).values():
            total_rows = [i for i in members if a.total is not None
                          and str(rows[i][a.over]) == a.total]
            parts = [i for i in members if i not in total_rows and
                     (a.members is None or str(rows[i][a.over]) in a.members)]
            for col in a.columns:
                cells = tuple((i, col) for i in parts)
                total = (total_rows[0], col) if total_rows else None
                if any(rows[i][c] is None for i, c in cells + ((total,) if total else ())):
                    continue
                out.append(Relation(parts=cells, total=total))
    for s in rule.subsets:
        for i, row in enumerate(rows):
            if s.condition is not None and not s.condition.holds(row):
                continue
            values = [row[s.whole], *(row[p] for p in s.parts)]
            if any(v is None for v in values):
                continue
            remainder = values[0] - sum(values[1:])
            if remainder < 0:
                log.warning("%s row %s: %s is less than %s; relation ignored", rule.name,
                            {k: row[k] for k in rule.key}, s.whole, "+".join(s.parts))
                continue
            out.append(Relation(parts=tuple((i, p) for p in s.parts), total=(i, s.whole),
                                remainder=remainder))
    return out


def linked_cells(rule: MartRule, rows: list[dict]) -> dict[Cell, frozenset[Cell]]:
    """Cells declared equal across rows (shared), each mapped to its whole set."""
    links: dict[Cell, frozenset[Cell]] = {}
    for sh in rule.shared:
        for members in _group(rows, rule.key, sh.over).values():
            chosen = [i for i in members if sh.members is None
                      or str(rows[i][sh.over]) in sh.members]
            for col in sh.columns:
                group = frozenset((i, col) for i in chosen)
                for cell in group:
                    links[cell] = links.get(cell, frozenset()) | group
    return links


def sum_known(rel: Relation, hidden: set[Cell], value) -> bool:
    """A group sum without a total cell is derivable only through a shown non-zero member (its
    share of the sum); when every non-zero member is suppressed, nothing reveals the sum."""
    return rel.total is not None or any(c not in hidden and value(c) for c in rel.parts)


def smallest_shown(rel: Relation, hidden: set[Cell], countable: set[Cell], value) -> Cell | None:
    """The smallest non-zero shown cell of the relation (one of 1 would not help when the
    suppressed cells already sum to their minimum, so a larger one is preferred then)."""
    candidates = [c for c in rel.cells if c in countable and c not in hidden and value(c)]
    if not candidates:
        return None  # nothing shown to add: the sum itself is not published
    all_ones = sum(1 for c in rel.parts if c in hidden) >= 2
    return min(candidates, key=lambda c: (all_ones and value(c) < 2, value(c), c == rel.total, c))
