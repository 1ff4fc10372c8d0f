"""An app's requests per day as an SVG bar chart drawn by the server (no script, as the
dashboard's: credits/chart.py, whose scale it shares). The admin shows a table of the same
figures beside it, as its text alternative."""

from credits.chart import scale_top
from integrations.figures import UsageDay

LEFT, TOP, PLOT_HEIGHT = 56, 20, 120
COLUMN, BAR = 18, 12
TICKS = 4


def daily_chart(days: list[UsageDay]) -> dict:
    """Geometry and labels for admin/integrations/partnerapp/usage.html."""
    top = scale_top(max([1, *(day.requests for day in days)]))
    bottom = TOP + PLOT_HEIGHT
    bars = []
    for index, day in enumerate(days):
        height = round(day.requests / top * PLOT_HEIGHT)
        x = LEFT + index * COLUMN
        bars.append(
            {
                "x": x + (COLUMN - BAR) // 2,
                "y": bottom - height,
                "height": height,
                "summary": f"{day.day:%Y-%m-%d}: {day.requests:,} requests, "
                f"{day.charged:,} credits charged",
                "label": f"{day.day:%d}" if index % 5 == 0 else "",
                "label_x": x + COLUMN // 2,
            }
        )
    return {
        "width": LEFT + COLUMN * len(days) + 8,
        "height": bottom + 40,
        "left": LEFT,
        "right": LEFT + COLUMN * len(days),
        "top": TOP,
        "bottom": bottom,
        "bar": BAR,
        "label_y": bottom + 14,
        "axis_title_x": LEFT + COLUMN * len(days) // 2,
        "axis_title_y": bottom + 34,
        "ticks": [
            {"y": bottom - round(PLOT_HEIGHT * i / TICKS), "label": f"{top * i // TICKS:,}"}
            for i in range(TICKS + 1)
        ],
        "bars": bars,
    }
