"""Which unknowns of a small integer linear system are pinned to a single value.

Used by disclosure control as the attacker's view of a published group: suppressed cells and
unpublished remainders are unknowns with lower bounds (a suppressed cell is at least 1, since
zeros are shown; a remainder at least 0), shown cells are constants, and the declared relations
are equations sum(coef * unknown) == const with coefficients +1/-1. An unknown is disclosed when
every integer solution gives it the same value. Interval propagation prunes, bisection completes
the search, and each solution found clears every unknown it shows can take another value.
"""

from __future__ import annotations

from typing import Hashable

Var = Hashable
Equation = tuple[tuple[tuple[int, Var], ...], int]  # sum(coef * var) == const
Bounds = dict[Var, tuple[int, int]]
MAX_ROUNDS = 60  # propagation rounds before the search takes over


def pinned_unknowns(eqs: list[Equation], lower: dict[Var, int], truth: dict[Var, int],
                    watch: list[Var]) -> list[Var]:
    """The watched unknowns that every integer solution (each unknown >= its lower bound) gives
    the value it has in `truth`, which must itself be a solution."""
    unknowns = {v for terms, _ in eqs for _, v in terms} | set(watch)
    big = 2 * max((abs(truth[v]) for v in unknowns), default=0) + 10
    bounds: Bounds = {v: (lower[v], big) for v in unknowns}
    if not _propagate(bounds, eqs):
        raise ValueError("the true values do not satisfy the relations")
    pinned, unresolved = [], list(watch)
    while unresolved:
        v = unresolved.pop(0)
        t = truth[v]
        solution = None
        for lo, hi in ((bounds[v][0], t - 1), (t + 1, bounds[v][1])):
            if lo <= hi:
                solution = _solve({**bounds, v: (lo, hi)}, eqs)
                if solution is not None:
                    break
        if solution is None:
            pinned.append(v)
        else:
            unresolved = [u for u in unresolved if solution[u] == truth[u]]
    return pinned


def _propagate(bounds: Bounds, eqs: list[Equation]) -> bool:
    """Tighten bounds in place from every equation; False if some equation cannot hold."""
    for _ in range(MAX_ROUNDS):
        changed = False
        for terms, const in eqs:
            lo = hi = 0
            for c, v in terms:
                vlo, vhi = bounds[v]
                lo, hi = (lo + c * vlo, hi + c * vhi) if c > 0 else (lo + c * vhi, hi + c * vlo)
            if lo > const or hi < const:
                return False
            for c, v in terms:
                vlo, vhi = bounds[v]
                cmin, cmax = (c * vlo, c * vhi) if c > 0 else (c * vhi, c * vlo)
                a, b = const - (hi - cmax), const - (lo - cmin)  # the range c * v can take
                new = (max(vlo, a), min(vhi, b)) if c > 0 else (max(vlo, -b), min(vhi, -a))
                if new[0] > new[1]:
                    return False
                if new != (vlo, vhi):
                    bounds[v] = new
                    changed = True
                    nmin, nmax = (c * new[0], c * new[1]) if c > 0 else (c * new[1], c * new[0])
                    lo, hi = lo - cmin + nmin, hi - cmax + nmax
        if not changed:
            break
    return True


def _solve(bounds: Bounds, eqs: list[Equation]) -> dict[Var, int] | None:
    """One integer solution within the bounds, or None. Tries each unknown at its lowest value
    first: solutions far from the truth clear more watched unknowns at once."""
    bounds = dict(bounds)
    if not _propagate(bounds, eqs):
        return None
    free = [v for v in bounds if bounds[v][0] < bounds[v][1]]
    if not free:
        solution = {v: lo for v, (lo, _) in bounds.items()}
        ok = all(sum(c * solution[v] for c, v in terms) == const for terms, const in eqs)
        return solution if ok else None
    v = min(free, key=lambda x: (bounds[x][1] - bounds[x][0], str(x)))
    lo, hi = bounds[v]
    found = _solve({**bounds, v: (lo, lo)}, eqs)
    return found if found is not None else _solve({**bounds, v: (lo + 1, hi)}, eqs)
