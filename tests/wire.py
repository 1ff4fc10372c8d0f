"""What reaches PostgreSQL, read off the wire: libpq's trace of the messages psycopg sends.

Django's query log misses BEGIN and COMMIT (psycopg sends them itself); the trace does not. Each
statement is one simple-protocol Query or one extended-protocol Execute.
"""

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from psycopg import pq


@dataclass
class Wire:
    """The statements sent while tracing: their first words, in order."""

    statements: list[str] = field(default_factory=list)

    @property
    def transactions(self) -> int:
        return sum(1 for text in self.statements if text == "BEGIN")

    def __len__(self) -> int:
        return len(self.statements)


@contextmanager
def traced() -> "Wire":
    """Trace the default connection (which must stay open across the requests made inside)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    descriptor, path = tempfile.mkstemp(prefix="libpq-trace-")
    wire = Wire()
    pgconn.trace(descriptor)
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    try:
        yield wire
    finally:
        pgconn.untrace()
        os.close(descriptor)
        wire.statements.extend(_statements(path))
        os.unlink(path)


def _statements(path: str) -> list[str]:
    """Each Query's text, and for each Execute the text of the Parse before it ('prepared' when
    the statement was prepared on an earlier run)."""
    found, parsed = [], "prepared"
    with open(path, encoding="utf-8", errors="replace") as trace:
        for line in trace:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4 or parts[0] != "F":
                continue
            message, rest = parts[2], parts[3].strip()
            if message == "Query":
                found.append(_words(rest.strip('"')))
            elif message == "Parse":
                parsed = _words(rest.split('"')[3] if rest.count('"') >= 4 else rest)
            elif message == "Execute":
                found.append(parsed)
                parsed = "prepared"
    return found


def _words(sql: str) -> str:
    return " ".join(sql.split()[:6])
