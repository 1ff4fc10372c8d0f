"""What a partner credential lets its caller do, as the API sees it (`request.auth`).

core.api.permissions.PartnerScopePermission reads `partner_scopes` and `acts_as` (it knows no
app); credits.api.idempotency.actor_for reads `actor`, so the ledger records the app as the one
who asked, scopes its idempotency keys to the app and checks the user's spending cap.
"""

from dataclasses import dataclass, field

from credits.actors import Actor
from integrations.models import PartnerApp


@dataclass(frozen=True)
class PartnerAccess:
    app: PartnerApp
    # "user": an OAuth token, acting for the user who consented; "app": an API key, as itself.
    acts_as: str
    partner_scopes: frozenset[str]
    actor: Actor
    credential: object = field(default=None, compare=False, repr=False)
