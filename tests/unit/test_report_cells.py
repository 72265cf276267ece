"""How the report prints published values: as the board papers and the CSV files do."""

from datetime import date
from decimal import Decimal

from csp_pipeline.publish.report.sections import comparison_headers
from csp_pipeline.publish.report.tables import SUPPRESSED, cell, fmt


def test_values_print_as_the_papers_do():
    assert fmt("value", 0) == "0"  # zeros are shown
    assert fmt("incidents", 1182) == "1,182"
    assert fmt("pct_change", -40) == "-40%" and fmt("pct_change", 67) == "67%"
    assert fmt("cost_gbp", 449732) == "£449,732"
    assert fmt("successful_completion_pct", Decimal("44.4")) == "44.4%"
    assert fmt("suspension_rate", Decimal("4.50")) == "4.50"  # DECIMAL(8,2): two places
    assert fmt("relative_rate_index", 1.5) == "1.50"
    assert fmt("direction", None) == "-"
    assert fmt("month", date(2024, 5, 1)) == "2024-05-01"


def test_a_suppressed_cell_is_c_whatever_its_value():
    row = {"remands": None, "remands_suppressed": True, "custody": 0, "custody_suppressed": False}
    assert cell(row, "remands").text == SUPPRESSED and cell(row, "remands").suppressed
    assert cell(row, "custody").text == "0" and not cell(row, "custody").suppressed


def test_fire_table_headers_follow_the_board_paper():
    """Hartlepool May 2024: May 23 | May 24 | Direction of Travel 2023/24 - 2024/25."""
    assert comparison_headers("Indicator", date(2024, 5, 1)) == [
        "Indicator", "May 23", "May 24", "Direction of Travel 2023/24 - 2024/25", "% Change"]
    assert comparison_headers("Indicator", date(2025, 1, 1))[3] == \
        "Direction of Travel 2023/24 - 2024/25"
