"""The table the suite prints at the end: one row per scenario."""

from __future__ import annotations

from dataclasses import dataclass

HEADERS = ("scenario", "requests", "failures", "acknowledged writes", "writes found")


@dataclass(frozen=True)
class Row:
    scenario: str
    requests: int
    failures: int
    acknowledged: int
    found: int
    note: str = ""


ROWS: list[Row] = []


def add_row(row: Row) -> None:
    """Record one scenario's figures for the closing table."""
    ROWS.append(row)


def format_table(rows: list[Row]) -> list[str]:
    """The rows, in scenario order, as an aligned table with a notes column."""
    cells = [(*HEADERS, "notes")] + [
        (
            row.scenario,
            str(row.requests),
            str(row.failures),
            str(row.acknowledged),
            str(row.found),
            row.note,
        )
        # Scenario names start with their number; sorted() keeps run order within.
        for row in sorted(rows, key=lambda row: row.scenario.split()[0])
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(6)]
    lines = []
    for number, line in enumerate(cells):
        lines.append(
            "  ".join(
                cell.ljust(width) if column in (0, 5) else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines
