"""The credits flow as horizontal bars, drawn by the server as SVG (no script: the
Content-Security-Policy allows none inline). The table beside it is its text alternative."""

from core.figures import credits

WIDTH, LABEL, BAR_HEIGHT, GAP = 560, 170, 18, 8
PLOT = WIDTH - LABEL - 80  # room on the right for each bar's figure


def flow_bars(rows: list[tuple[str, int]]) -> dict:
    """Geometry for templates/admin/analytics/credits_flow.html's chart of `rows` (label,
    credits): each bar as long as its figure against the largest."""
    peak = max([1, *(abs(value) for _, value in rows)])
    bars = []
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(abs(value) / peak * PLOT)
        bars.append(
            {
                "label": label,
                "y": y,
                "text_y": y + BAR_HEIGHT - 5,
                "length": length,
                "value_x": LABEL + length + 6,
                "value": credits(value),
            }
        )
    return {
        "width": WIDTH,
        "height": GAP + len(rows) * (BAR_HEIGHT + GAP),
        "label_x": LABEL - 8,
        "bar_x": LABEL,
        "bar_height": BAR_HEIGHT,
        "bars": bars,
    }
