"""What every feed generator is given: seed, area, scale and the first night to be written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from csp_pipeline.core.registry import load_registry
from csp_pipeline.synthetic.areas import Area, weight
from csp_pipeline.synthetic.table import Table


@dataclass(frozen=True)
class Context:
    seed: int
    area: Area
    scale: float
    start: date

    @property
    def volume(self) -> float:
        """Multiplier of Hartlepool-calibrated daily rates: population share times scale."""
        return weight(self.area) * self.scale

    @staticmethod
    def header(feed: str, kind: str) -> list[str]:
        return load_registry().kind(feed, kind).column_names


# A night's rows from one area, or None when this area sends no file that night.
Night = Callable[[date], Table | None]
# Built once per (kind, area) and then called for each night from Context.start, in order.
Maker = Callable[[Context], Night]
