"""Who asks the ledger to do something: recorded on each transaction, and the scope of its keys."""

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser

from credits.errors import OwnWalletRefused


@dataclass(frozen=True)
class Actor:
    """The caller of a credits service.

    `kind` is user, staff, app (a partner app) or system (webhooks, operator commands).
    Idempotency keys are scoped to the caller, so one caller's key never collides with another's.
    """

    kind: str
    user_id: int | None = None
    app_id: int | None = None
    label: str = ""

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind="user", user_id=user.pk, label=user.get_username())

    @classmethod
    def for_staff(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind="staff", user_id=user.pk, label=user.get_username())

    @classmethod
    def for_app(cls, app_id: int, name: str) -> "Actor":
        return cls(kind="app", app_id=app_id, label=name)

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(kind="system", label=name)

    @property
    def idempotency_scope(self) -> str:
        if self.kind in ("user", "staff"):
            # One person, one key space, whether they act as themselves or as staff.
            return f"user:{self.user_id}"
        if self.kind == "app":
            return f"app:{self.app_id}"
        return f"system:{self.label}"

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
