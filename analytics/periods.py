"""The periods the reports cover: calendar months in UTC, one or a run of them."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
# A range's longest run: ten years of monthly rows is more than any page should draw.
LONGEST = 120


def day_start(moment: datetime) -> datetime:
    """The start of `moment`'s day in UTC (the daily snapshots' unit)."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


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


@dataclass(frozen=True)
class Period:
    """[since, until): from the start of one month to the end of another (or the same)."""

    since: datetime
    until: datetime

    @property
    def months(self) -> list[tuple[datetime, datetime]]:
        """Each month of the period, [start, end), in order."""
        found, start = [], self.since
        while start < self.until:
            found.append((start, _shift(start, 1)))
            start = found[-1][1]
        return found

    @property
    def previous(self) -> "Period":
        """As many months just before this one (what an overview compares with)."""
        return Period(_shift(self.since, -len(self.months)), self.since)

    def label(self) -> str:
        first, last = self.months[0][0], self.months[-1][0]
        if first == last:
            return f"{first:%B %Y}"
        return f"{first:%B %Y} to {last:%B %Y}"


def months(first: str, last: str = "") -> Period:
    """The months from `first` to `last` (YYYY-MM, both included; `last` defaults to `first`);
    ValueError with a sentence a person can act on if they are no such run."""
    since, _ = month(first)
    _, until = month(last or first)
    if until <= since:
        raise ValueError(f"The period ends ({last}) before it starts ({first}).")
    period = Period(since, until)
    if len(period.months) > LONGEST:
        raise ValueError(f"A period is at most {LONGEST} months: {first} to {last} is longer.")
    return period


def _shift(start: datetime, count: int) -> datetime:
    """The first of the month `count` months after (or before) `start`'s."""
    index = start.year * 12 + start.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
