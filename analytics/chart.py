"""A report table's chart as horizontal bars, drawn by the server as SVG (no script: the
Content-Security-Policy allows none inline). The table beside it is its text alternative."""

from analytics.report import Table, written

WIDTH, LABEL, BAR_HEIGHT, GAP = 560, 190, 18, 8
PLOT = WIDTH - LABEL - 90  # room on the right for each bar's figure


def bars(table: Table) -> dict:
    """Geometry for templates/admin/analytics/report.html's chart of a table's charted rows:
    each bar as long as its figure against the largest."""
    # A zero figure keeps its type: Decimal("0.00") is written $0.00, not the count 0.
    rows = [(label, 0 if value is None else value) for label, value in table.chart_rows()]
    peak = max([1, *(abs(value) for _, value in rows)])
    drawn = []
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(abs(value) / peak * PLOT)
        drawn.append(
            {
                "label": label,
                "y": y,
                "text_y": y + BAR_HEIGHT - 5,
                "length": length,
                "value_x": LABEL + length + 6,
                "value": written(value, table.currency),
            }
        )
    return {
        "width": WIDTH,
        "height": GAP + len(rows) * (BAR_HEIGHT + GAP),
        "label_x": LABEL - 8,
        "bar_x": LABEL,
        "bar_height": BAR_HEIGHT,
        "bars": drawn,
    }
