"""The closing table of the resilience suite."""

from __future__ import annotations

from tests.resilience.report import Row, format_table


def test_table_lists_scenarios_in_order_with_aligned_columns() -> None:
    lines = format_table(
        [
            Row("3 database restart", 340, 24, 90, 90, note="503s"),
            Row("1 rolling restart", 2400, 0, 690, 690),
        ]
    )
    assert lines[0].split()[:2] == ["scenario", "requests"]
    assert lines[2].startswith("1 rolling restart ")
    assert lines[3].startswith("3 database restart")
    assert lines[3].endswith("503s")
    # Numbers are right-aligned under their headers.
    assert lines[0].index("requests") + len("requests") == lines[2].index("2400") + 4
    assert lines[2].split()[-4:] == ["2400", "0", "690", "690"]
