"""The closing table of the resilience suite."""

from __future__ import annotations

from tests.resilience.report import Row, format_table


def test_table_lists_scenarios_in_order_with_aligned_columns() -> None:
    lines = format_table(
        [
            Row("3 database restart", 340, 24, 90, 90, note="503s"),
            Row("1 rolling restart", 2400, 0, 690, 690),
            Row("3 database restart behind PgBouncer", 420, 110, 88, 88),
            Row("1 rolling restart through PgBouncer", 2500, 0, 700, 700),
        ]
    )
    assert lines[0].split()[:2] == ["scenario", "requests"]
    # By scenario number; the pooled variant of a scenario follows the direct one.
    assert lines[2].startswith("1 rolling restart ")
    assert lines[3].startswith("1 rolling restart through PgBouncer")
    assert lines[4].startswith("3 database restart ")
    assert lines[4].endswith("503s")
    assert lines[5].startswith("3 database restart behind PgBouncer")
    # Numbers are right-aligned under their headers.
    assert lines[0].index("requests") + len("requests") == lines[2].index("2400") + 4
    assert lines[2].split()[-4:] == ["2400", "0", "690", "690"]
