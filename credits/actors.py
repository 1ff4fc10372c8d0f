"""Who asks the ledger to do something: recorded on each transaction, and the scope of its keys."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser

from credits.errors import OwnWalletRefused


@dataclass(frozen=True)
class Actor:
    """The caller of a credits service.

    `kind` is user, staff, app (a partner app) or system (webhooks, operator commands).
    Idempotency keys are scoped to the caller, so one caller's key never collides with another's.

    `charge_limit`, if any, is asked before every spend or hold the actor makes, with the
    wallet locked: `charge_limit(wallet, amount, now)` raises a CreditRefusal to refuse. A
    partner app's is the user's consent and its spending cap (integrations.services.caps): under
    the wallet's lock, concurrent charges are counted one after another, never past the cap.
    """

    kind: str
    user_id: int | None = None
    app_id: int | None = None
    label: str = ""
    charge_limit: Callable[[object, int, datetime], None] | None = field(
        default=None, compare=False, repr=False
    )

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind="user", user_id=user.pk, label=user.get_username())

    @classmethod
    def for_staff(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind="staff", user_id=user.pk, label=user.get_username())

    @classmethod
    def for_app(
        cls, app_id: int, name: str, *, user_id: int | None = None, charge_limit=None
    ) -> "Actor":
        """A partner app: as itself, or (`user_id`) acting for a user who consented."""
        return cls(
            kind="app", app_id=app_id, user_id=user_id, label=name, charge_limit=charge_limit
        )

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(kind="system", label=name)

    @property
    def idempotency_scope(self) -> str:
        if self.kind in ("user", "staff"):
            # One person, one key space, whether they act as themselves or as staff.
            return f"user:{self.user_id}"
        if self.kind == "app":
            # Per app, and within it per user: one user's request can never replay another's.
            return f"app:{self.app_id}" + (f":{self.user_id}" if self.user_id else "")
        return f"system:{self.label}"

    def check_charge(self, wallet, amount: int, now: datetime) -> None:
        """Refuse a spend or hold of `amount` from the locked `wallet` past the actor's limit."""
        if self.charge_limit is not None:
            self.charge_limit(wallet, amount, now)

    def refuse_own_wallet(self, *wallets) -> None:
        """Staff powers never touch the staff member's own wallet, whatever the surface: a
        person who could grant to themselves, or settle their own dispute, needs no thief."""
        if self.kind != "staff":
            return
        if any(getattr(wallet, "user_id", None) == self.user_id for wallet in wallets):
            raise OwnWalletRefused(
                "Staff cannot move credits into or out of their own wallet, nor change its "
                "status: ask a colleague."
            )
