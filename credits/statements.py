"""A wallet's statement as CSV: one module for the page's download and the API's, streamed."""

import csv

from django.http import StreamingHttpResponse

from credits import selectors
from credits.models import Wallet


class _Echo:
    """csv.writer writes to this; the streamed response sends each line as it is written."""

    def write(self, value: str) -> str:
        return value


def statement_rows(wallet: Wallet, *, since, until):
    """A statement as CSV lines, produced one at a time (the page and the API stream them)."""
    found = selectors.statement(wallet=wallet, since=since, until=until)
    writer = csv.writer(_Echo())
    yield writer.writerow(["CreditDesk statement", f"{since} to {until}"])
    yield writer.writerow(["Opening balance", found.opening_balance])
    yield writer.writerow(
        ["Date (UTC)", "Transaction", "Kind", "Description", "Reference", "Amount", "Balance"]
    )
    for row in found.rows:
        yield writer.writerow(
            [
                row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                row.transaction,
                row.kind,
                _inert(row.description),
                _inert(row.reference),
                row.amount,
                row.balance_after,
            ]
        )
    yield writer.writerow(["Closing balance", found.closing_balance])


# A cell starting with one of these is a formula to a spreadsheet; free text in a statement (a
# transfer's message is written by another user) must never run as one (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def statement_csv(wallet: Wallet, *, since, until, filename: str) -> StreamingHttpResponse:
    """The statement as a streamed CSV download (constant memory, however long the history)."""
    response = StreamingHttpResponse(
        statement_rows(wallet, since=since, until=until), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
