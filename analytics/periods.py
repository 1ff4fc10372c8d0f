"""The periods the reports cover: calendar months in UTC."""

import re
from datetime import UTC, datetime

MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def month(text: str) -> tuple[datetime, datetime]:
    """[start, end) of the month `text` names (YYYY-MM), in UTC; ValueError if it names none."""
    found = MONTH.fullmatch(text.strip())
    # From year 1 to 9998: a month's end must be a date too.
    if found is None or not 1 <= int(found[2]) <= 12 or not 1 <= int(found[1]) <= 9998:
        raise ValueError(f"{text!r} is not a month: give it as YYYY-MM, e.g. 2026-11.")
    year, number = int(found[1]), int(found[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end
