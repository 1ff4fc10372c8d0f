"""Staff's partner apps: the list by status with usage figures, status changes and the release of
an app's open holds through intermediate forms with a reason, the details staff set (scopes,
redirect URIs, cap, rate limit, introspection), its keys (created, rotated, revoked: a secret
shown once), its consents, its log and its usage per day.

Everything goes through integrations.services; each form acts once (core/once.py). Apps are
never deleted (the ledger names them on the transactions they asked for): they are revoked.
django-oauth-toolkit's own admin pages are replaced: its Application is PartnerApp (below),
tokens are listed read-only with its revoke action, grants and ID tokens are not shown.
"""

from integrations.admin import apps, tokens, webhooks

__all__ = ["apps", "tokens", "webhooks"]
