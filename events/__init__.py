"""The outbox: every event CreditDesk announces, written in the transaction of the change it
announces and delivered afterwards by a worker, to people (e-mail) and to programs (webhooks)."""
