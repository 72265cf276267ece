"""The declared disclosure rules of the marts (disclosure.yml), as types: what each mart's rows
and columns mean for disclosure control (see policy.py for reading them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).parent.parent / "disclosure.yml"
FLAG = "_suppressed"


class DisclosureError(RuntimeError):
    """A mart cannot be published safely as declared (undeclared, or its shape changed)."""


@dataclass(frozen=True)
class Condition:
    """Rows where `column` is (or, negated, is not) one of `values`."""

    column: str
    values: frozenset[str]
    negate: bool = False

    def holds(self, row: dict[str, Any]) -> bool:
        return (str(row[self.column]) in self.values) != self.negate


@dataclass(frozen=True)
class Count:
    column: str
    condition: Condition | None = None

    def applies(self, row: dict[str, Any]) -> bool:
        return self.condition is None or self.condition.holds(row)


@dataclass(frozen=True)
class Additive:
    over: str
    columns: tuple[str, ...]
    total: str | None = None
    members: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Subset:
    whole: str
    parts: tuple[str, ...]
    condition: Condition | None = None


@dataclass(frozen=True)
class Shared:
    over: str
    columns: tuple[str, ...]
    members: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MartRule:
    name: str
    places: bool = False
    key: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    counts: tuple[Count, ...] = ()
    rates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    additive: tuple[Additive, ...] = ()
    subsets: tuple[Subset, ...] = ()
    shared: tuple[Shared, ...] = ()

    @property
    def count_columns(self) -> list[str]:
        return list(dict.fromkeys(c.column for c in self.counts))

    @property
    def protected_columns(self) -> list[str]:
        """Columns that may be suppressed (and carry a flag): counts, then rates."""
        return self.count_columns + [r for r in self.rates if r not in self.count_columns]

    @property
    def declared_columns(self) -> set[str]:
        return {*self.key, *self.public, *self.protected_columns}

    @property
    def condition_columns(self) -> set[str]:
        conds = [c.condition for c in self.counts] + [s.condition for s in self.subsets]
        return {c.column for c in conds if c is not None}


@dataclass(frozen=True)
class Policy:
    threshold: float
    marts: dict[str, MartRule]

    def declared(self, mart: str) -> bool:
        return mart in self.marts

    def rule(self, mart: str) -> MartRule:
        if mart not in self.marts:
            raise DisclosureError(f"mart {mart!r} is not declared in {POLICY_FILE.name}: "
                                  "it is not published until its columns are classified")
        return self.marts[mart]

    def sensitive(self, value: Any) -> bool:
        return value is not None and 0 < value < self.threshold
