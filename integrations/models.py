"""Partner apps and their credentials (to come). The API's stored responses that lived here are
now kept on the ledger's own idempotency record (credits.IdempotencyRecord)."""
