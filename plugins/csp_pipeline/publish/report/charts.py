"""Plotly figure specifications (plain dicts: the page's script hands them to plotly.js).
Suppressed values are gaps, never zeros."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

# Okabe-Ito: distinguishable with colour-blindness and in grey print.
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def value(row: dict, column: str) -> Any:
    if row.get(f"{column}_suppressed"):
        return None
    v = row.get(column)
    if isinstance(v, Decimal):
        return float(v)
    return v.isoformat() if isinstance(v, date) else v


def _layout(title: str, y_title: str, **extra) -> dict:
    return {"title": {"text": title, "font": {"size": 14}}, "height": 300,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "colorway": COLOURS,
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.25}, "font": {"family": "sans-serif"},
            **extra}


def lines(title: str, rows: list[dict], x: str, series: dict[str, str], y_title: str,
          dash: dict[str, str] | None = None) -> dict:
    """One line per (legend name -> column) over x."""
    data = [{"type": "scatter", "mode": "lines+markers", "name": name,
             "x": [value(r, x) for r in rows], "y": [value(r, col) for r in rows],
             "line": {"dash": (dash or {}).get(name, "solid")}} for name, col in series.items()]
    return {"data": data, "layout": _layout(title, y_title)}


def grouped_lines(title: str, rows: list[dict], x: str, group: str, column: str,
                  y_title: str) -> dict:
    """One line per value of `group` (e.g. per indicator or substance group)."""
    groups = list(dict.fromkeys(r[group] for r in rows))
    data = [{"type": "scatter", "mode": "lines+markers", "name": g,
             "x": [value(r, x) for r in rows if r[group] == g],
             "y": [value(r, column) for r in rows if r[group] == g]} for g in groups]
    return {"data": data, "layout": _layout(title, y_title)}


def bars(title: str, rows: list[dict], x: str, column: str, y_title: str,
         colour_by: str | None = None, reference: float | None = None) -> dict:
    colours = [COLOURS[0] if not colour_by or r.get(colour_by) else "#9ecae1" for r in rows]
    data = [{"type": "bar", "x": [value(r, x) for r in rows], "y": [value(r, column) for r in rows],
             "marker": {"color": colours}, "name": y_title}]
    extra = {}
    if reference is not None:
        extra["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": reference,
                            "y1": reference, "line": {"dash": "dot", "color": "#444"}}]
    return {"data": data, "layout": _layout(title, y_title, showlegend=False, **extra)}


def crime_by_type(title: str, rows: list[dict]) -> dict:
    """This year and last year per crime type, one type shown at a time (a menu picks it)."""
    types = list(dict.fromkeys(r["crime_type"] for r in rows))
    data, buttons = [], []
    for i, t in enumerate(types):
        mine = [r for r in rows if r["crime_type"] == t]
        x = [value(r, "month") for r in mine]
        for name, col in (("This year", "incidents"), ("Same month last year",
                                                        "incidents_previous_year")):
            data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": x,
                         "y": [value(r, col) for r in mine], "visible": i == 0,
                         "line": {"dash": "dot" if col.endswith("year") else "solid"}})
        visible = [j // 2 == i for j in range(2 * len(types))]
        buttons.append({"label": t, "method": "update",
                        "args": [{"visible": visible}, {"title.text": f"{title}: {t}"}]})
    layout = _layout(f"{title}: {types[0]}" if types else title, "Incidents", updatemenus=[{"buttons": buttons, "x": 1, "y": 1.25,
                                                       "xanchor": "right"}])
    return {"data": data, "layout": layout}
