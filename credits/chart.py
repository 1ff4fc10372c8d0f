"""The dashboard's chart of the last months, drawn by the server as SVG (no script: the
Content-Security-Policy allows none inline, and a figure needs none): credits added and used per
month, oldest on the left as on every other view of the months, a labelled scale, and each
month's figures on hover or keyboard focus. The same figures are in a table beside it."""

from core.figures import credits

WIDTH, HEIGHT = 560, 190
LEFT, TOP, PLOT_HEIGHT = 64, 28, 120  # the plot's top-left corner and height, in SVG units
COLUMN = 40  # one month's width
BAR = 12
TICKS = 4


def scale_top(peak: int) -> int:
    """The scale's top: four steps of 1, 2 or 5 times a power of ten, the least reaching `peak`."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if step * TICKS >= peak:
                return step * TICKS
        magnitude *= 10


def monthly_chart(months) -> dict:
    """Geometry and labels for templates/credits/dashboard.html's chart of `months` (oldest
    first, as credits.selectors.monthly_summary gives them)."""
    top = scale_top(max([1, *(m.added for m in months), *(m.removed for m in months)]))
    bottom = TOP + PLOT_HEIGHT

    def height(value: int) -> int:
        return round(value / top * PLOT_HEIGHT)

    bars = []
    for index, month in enumerate(months):
        x = LEFT + index * COLUMN
        added, removed = height(month.added), height(month.removed)
        first_half = index < len(months) / 2
        bars.append(
            {
                "month": month.month,
                "x": x,
                "added_x": x + 7,
                "added_y": bottom - added,
                "added_height": added,
                "removed_x": x + 7 + BAR + 2,
                "removed_y": bottom - removed,
                "removed_height": removed,
                "label_x": x + COLUMN // 2,
                # The figures' line starts at the column in the first half and ends at it in the
                # second, so it never runs off the chart.
                "value_x": x if first_half else x + COLUMN,
                "value_anchor": "start" if first_half else "end",
                "added": month.added,
                "removed": month.removed,
                "summary": f"{credits(month.added)} credits in, {credits(month.removed)} out",
            }
        )
    ticks = [
        {"y": bottom - round(PLOT_HEIGHT * i / TICKS), "label": credits(top * i // TICKS)}
        for i in range(TICKS + 1)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": LEFT + COLUMN * len(months),
        "top": TOP,
        "bottom": bottom,
        "plot_height": PLOT_HEIGHT,
        "column": COLUMN,
        "bar": BAR,
        "month_y": bottom + 16,
        "axis_title_x": LEFT + COLUMN * len(months) // 2,
        "axis_title_y": bottom + 38,
        "value_y": TOP - 12,
        "ticks": ticks,
        "bars": bars,
    }
