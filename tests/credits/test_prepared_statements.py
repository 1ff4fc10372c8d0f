"""On PostgreSQL the ledger's hot statements are parsed and planned once per connection."""

import pytest
from django.db import connection

from credits import services
from tests.credits.conftest import ACTOR, fund, key

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
    ),
    pytest.mark.django_db,
]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_spends_go_through_prepared_statements(wallet, ledger_functions):
    fund(wallet, 100)

    for _ in range(6):  # psycopg prepares a statement on its sixth run (prepare_threshold 5)
        services.spend(wallet=wallet, amount=1, actor=ACTOR, idempotency_key=key())

    statements = prepared_statements()
    if ledger_functions:  # the call, with its event's insert
        assert any("SELECT * FROM credits_take(" in text for text in statements)
    else:  # claim-and-lock, then the write
        assert any(text.startswith("WITH claim AS (INSERT INTO") for text in statements)
        assert any(
            text.startswith('WITH t1 AS (INSERT INTO "credits_credittransaction"')
            for text in statements
        )
    wallet.refresh_from_db()
    assert wallet.balance == 94
