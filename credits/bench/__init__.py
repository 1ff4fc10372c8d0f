"""`manage.py credits_bench`: how fast the ledger is on PostgreSQL, and what it costs.

- spends: N threads spending for T seconds, through `credits.services.spend` and through a raw
  SQL baseline of the same writes, across many wallets and on one hot wallet;
- history: wallets with long histories (built in SQL), their reads, pages and CSV statement,
  and `reconcile()` over them;
- runner: the phases in order; scratch: the database of its own they run in, created,
  migrated and dropped, so the real database is never written (not even a cached id).
"""
