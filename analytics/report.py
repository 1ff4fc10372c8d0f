"""What an analytics page shows, whatever its figures: tables, each with the rows its chart draws.

A page's table is its chart's text alternative and its CSV is the same rows, so a report is
built once and the template, the chart and the download all read it.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from core import figures

Value = int | Decimal | str | None


@dataclass
class Table:
    caption: str
    columns: list[str]  # the first names the rows' labels
    rows: list[list[Value]]
    # Which rows the chart draws, by label, and from which column (a bar per row); no column:
    # the table has no chart (another table of the report draws the same figures).
    charted: tuple[str, ...] = ()
    chart_column: int | None = 1
    currency: str = ""  # money columns are in it; "" when every figure is a count

    def shown(self) -> list[list[str]]:
        """The rows as the page writes them: counts with separators, money with its symbol."""
        return [[written(value, self.currency) for value in row] for row in self.rows]

    def chart_rows(self) -> list[tuple[str, Value]]:
        if self.chart_column is None:
            return []
        wanted = set(self.charted) if self.charted else None
        return [
            (row[0], row[self.chart_column])
            for row in self.rows
            if wanted is None or row[0] in wanted
        ]


@dataclass
class Report:
    title: str
    basis: str  # how the figures are made: the page states it above them
    tables: list[Table]
    problems: list[str] = field(default_factory=list)  # why a figure does not reconcile


def written(value: Value, currency: str) -> str:
    if isinstance(value, Decimal):
        return figures.money(value, currency)
    if isinstance(value, int) and not isinstance(value, bool):
        return figures.credits(value)
    return figures.NOTHING if value is None else str(value)
