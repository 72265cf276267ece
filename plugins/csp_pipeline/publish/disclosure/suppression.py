"""Which cells of a mart's rows are suppressed: primary (small counts), secondary (until no
declared relation gives one away) and dependent (rates of suppressed counts)."""

from __future__ import annotations

from dataclasses import dataclass

from csp_pipeline.publish.disclosure.audit import pinned_cell
from csp_pipeline.publish.disclosure.relations import (
    Cell,
    Relation,
    linked_cells,
    relations,
    smallest_shown,
    sum_known,
)
from csp_pipeline.publish.disclosure.rules import MartRule, Policy


@dataclass
class Suppression:
    primary: set[Cell]
    secondary: set[Cell]
    dependent: set[Cell]

    @property
    def hidden(self) -> set[Cell]:
        return self.primary | self.secondary | self.dependent


def _countable(rule: MartRule, rows: list[dict]) -> set[Cell]:
    return {(i, c.column) for i, row in enumerate(rows) for c in rule.counts if c.applies(row)}


def _unsafe(rel: Relation, hidden: set[Cell], value, policy: Policy) -> bool:
    """Could a suppressed cell (or a small remainder) be pinned from this relation alone?"""
    if not sum_known(rel, hidden, value):
        return False
    hidden_parts = [c for c in rel.parts if c in hidden]
    total_hidden = rel.total is not None and rel.total in hidden
    unknown = len(hidden_parts) + total_hidden + (rel.remainder is not None)
    if unknown == 0:
        return False
    if unknown == 1:
        return bool(hidden_parts) or total_hidden or policy.sensitive(rel.remainder)
    if total_hidden:
        return False  # the total and at least one addend unknown: only their difference is known
    # Known sum of the unknowns; each suppressed cell is at least 1 (zeros are shown), a remainder
    # at least 0. If the sum equals those lower bounds, every unknown is pinned to its bound.
    unknown_sum = sum(value(c) for c in hidden_parts) + (rel.remainder or 0)
    return unknown_sum <= len(hidden_parts)


def suppress(policy: Policy, rule: MartRule, rows: list[dict]) -> Suppression:
    """Decide which cells of these rows (ordered by the key) are suppressed."""
    def value(cell: Cell):
        return rows[cell[0]][cell[1]]

    countable = _countable(rule, rows)
    links = linked_cells(rule, rows)

    def with_links(cells: set[Cell]) -> set[Cell]:
        return cells.union(*(links.get(c, ()) for c in cells)) & countable if cells else cells

    primary = with_links({c for c in countable if policy.sensitive(value(c))})
    hidden = set(primary)
    for rels, link_groups in _independent_groups(relations(rule, rows), links):
        while True:
            # Relation by relation: the next smallest non-zero cell goes with a lone suppressed
            # one (or with suppressed cells that could only be 1 each).
            changed = True
            while changed:
                changed = False
                for rel in rels:
                    if _unsafe(rel, hidden, value, policy):
                        pick = smallest_shown(rel, hidden, countable, value)
                        if pick is not None:
                            hidden |= with_links({pick})
                            changed = True
            # Relations together (a shown part bounding a suppressed whole from below while a
            # total bounds it from above...): an exact integer search for anything still pinned.
            pick = pinned_cell(policy, rule.name, rels, link_groups, hidden, countable, value)
            if pick is None:
                break
            hidden |= with_links({pick})
    secondary = hidden - primary
    dependent = {(i, rate) for i in range(len(rows)) for rate, deps in rule.rates.items()
                 if any((i, d) in hidden for d in deps)}
    return Suppression(primary=primary, secondary=secondary, dependent=dependent)


def _independent_groups(rels: list[Relation], links: dict[Cell, frozenset[Cell]]
                        ) -> list[tuple[list[Relation], list[frozenset[Cell]]]]:
    """Relations and equal-cell sets split into groups that share no cell, in a stable order."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    link_groups = sorted(set(links.values()), key=min)
    for cells in [r.cells for r in rels] + [tuple(g) for g in link_groups]:
        for c in cells[1:]:
            parent[find(c)] = find(cells[0])
    groups: dict[Cell, tuple[list[Relation], list[frozenset[Cell]]]] = {}
    for rel in rels:
        groups.setdefault(find(rel.cells[0]), ([], []))[0].append(rel)
    for g in link_groups:
        groups.setdefault(find(min(g)), ([], []))[1].append(g)
    return [groups[root] for root in sorted(groups)]
