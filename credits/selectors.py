"""Reads of the ledger that need more than one query or a rule (pages and the API share them)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models
from django.db.models import (
    Case,
    DateTimeField,
    IntegerField,
    Max,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from credits.actors import Actor
from credits.models import (
    Allocation,
    ApprovalRequest,
    CreditGrant,
    CreditTransaction,
    Entry,
    Hold,
    Wallet,
)
from credits.services.rules import MAY_RECEIVE, MAY_SPEND, STATUS_MEANING

Kind = CreditTransaction.Kind
EXPIRING_WITHIN = timedelta(days=30)
HISTORY_PAGE_SIZE = 50


# The burn-down order, as fields (a cursor page can follow them): priority first, then the
# soonest expiry (never-expiring last), promotional before paid, then the oldest.
BURN_DOWN_ORDER = ("priority", "expiry_order", "-is_promotional", "id")
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def grants_left(wallet: Wallet) -> QuerySet[CreditGrant]:
    """The wallet's grants with credits left, in the order a spend consumes them."""
    return (
        CreditGrant.objects.filter(wallet=wallet, remaining__gt=0)
        .annotate(expiry_order=Coalesce("expires_at", Value(NEVER), output_field=DateTimeField()))
        .order_by(*BURN_DOWN_ORDER)
    )


def grants_in_burn_down_order(wallet: Wallet) -> list[CreditGrant]:
    """The wallet's grants with credits left, in the order a spend consumes them."""
    return list(grants_left(wallet))


@dataclass(frozen=True)
class Expiring:
    credits: int
    first_at: datetime | None


def expiring_soon(wallet: Wallet, *, within: timedelta = EXPIRING_WITHIN) -> Expiring:
    """Unreserved credits that expire within `within`, and when the first of them do."""
    now = timezone.now()
    found = CreditGrant.objects.filter(
        wallet=wallet, remaining__gt=0, expires_at__gt=now, expires_at__lte=now + within
    ).aggregate(credits=Sum("remaining"), first_at=Min("expires_at"))
    return Expiring(credits=found["credits"] or 0, first_at=found["first_at"])


@dataclass(frozen=True)
class Standing:
    """What the wallet's status lets its owner do now, and why not in words (pages disable
    what cannot be done instead of offering it and refusing it on submit)."""

    status: str
    may_spend: bool
    may_receive: bool
    why_not: str = ""


def standing(wallet: Wallet) -> Standing:
    return Standing(
        status=wallet.status,
        may_spend=wallet.status in MAY_SPEND,
        may_receive=wallet.status in MAY_RECEIVE,
        why_not=STATUS_MEANING.get(wallet.status, ""),
    )


def open_holds(wallet: Wallet) -> list[Hold]:
    """Soonest expiry first; holds until settled (no expiry) last, on every database."""
    soonest = models.F("expires_at").asc(nulls_last=True)
    return list(wallet.holds.filter(status=Hold.Status.OPEN).order_by(soonest, "id"))


def hold_to_settle(*, wallet: Wallet, hold_id: int, actor: Actor) -> Hold | None:
    """The wallet's hold that `actor` names for a capture or a release, or None (a 404).

    A partner app finds only the holds it placed for this user: another app's hold, or the
    user's own, is none of its business, so it does not learn that one exists. A person finds
    every hold of their wallet; the service then refuses one an app placed (hold_not_yours).
    """
    holds = Hold.objects.filter(pk=hold_id, wallet=wallet)
    if actor.kind == CreditTransaction.ActorKind.APP:
        holds = holds.filter(
            transactions__kind=Kind.HOLD,
            transactions__actor_app_id=actor.app_id,
            transactions__actor_user_id=actor.user_id,
        )
    hold = holds.first()
    if hold is not None:
        hold.wallet = wallet  # the caller's, already read: settling it needs no other query
    return hold


def charge_to_refund(
    *, wallet: Wallet, transaction_id: int, actor: Actor
) -> CreditTransaction | None:
    """A transaction of the wallet that the partner app `actor` itself asked for, or None (a
    404): an app refunds only what it charged, never another app's charge nor the user's own.
    Whether that transaction can be refunded, and by how much, is the refund service's rule."""
    if actor.kind != CreditTransaction.ActorKind.APP:
        return None
    return CreditTransaction.objects.filter(
        pk=transaction_id,
        wallet=wallet,
        actor_kind=CreditTransaction.ActorKind.APP,
        actor_app_id=actor.app_id,
        actor_user_id=actor.user_id,
    ).first()


# --- history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    kind: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    # A partner app's id (CreditTransaction.actor_app_id): only what that app asked for.
    app: int | None = None


def history_page(
    *,
    wallet: Wallet,
    before: int | None = None,
    size: int = HISTORY_PAGE_SIZE,
    filters: HistoryFilter | None = None,
) -> list[Entry]:
    """One page of a wallet's movements, newest first, each leg with its transaction.

    Keyset pagination on the entry id (`before` = the last id of the previous page), so a page
    deep in a long history costs what the first page costs: one index range scan.
    """
    entries = _filtered(wallet, filters or HistoryFilter()).select_related("transaction")
    if before is not None:
        entries = entries.filter(id__lt=before)
    return list(entries.order_by("-id")[:size])


def _filtered(wallet: Wallet, filters: HistoryFilter):
    entries = Entry.objects.filter(wallet=wallet)
    if filters.kind:
        entries = entries.filter(transaction__kind=filters.kind)
    if filters.since:
        entries = entries.filter(created_at__gte=_start_of(filters.since))
    if filters.until:
        entries = entries.filter(created_at__lt=_start_of(filters.until + timedelta(days=1)))
    if filters.text:
        entries = entries.filter(
            Q(transaction__description__icontains=filters.text)
            | Q(transaction__reference__icontains=filters.text)
        )
    if filters.app:
        entries = entries.filter(transaction__actor_app_id=filters.app)
    return entries


def apps_that_asked(wallet: Wallet) -> list[tuple[int, str]]:
    """(app id, name) of each partner app that asked for a movement of the wallet, by name: the
    history's filter by app. The name is the one its latest transaction recorded."""
    latest = (
        CreditTransaction.objects.filter(wallet=wallet, actor_app_id__isnull=False)
        .values("actor_app_id")
        .annotate(latest=Max("id"))
        .values("latest")
    )
    named = CreditTransaction.objects.filter(pk__in=latest).values_list(
        "actor_app_id", "actor_label"
    )
    return sorted(named, key=lambda item: (item[1].casefold(), item[0]))


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())


def transaction_for(*, wallet: Wallet, transaction_id: int) -> CreditTransaction | None:
    """A transaction the wallet took part in (its own, or a transfer it received); else None."""
    return _taken_part_in(wallet, transaction_id).first()


def transaction_detail_for(*, wallet: Wallet, transaction_id: int) -> CreditTransaction | None:
    """`transaction_for`, with `own_allocations`: the wallet's own credit blocks the transaction
    used. A transfer's receiver sees none of the sender's blocks (their sources, remainders and
    cost are the sender's business)."""
    own = Allocation.objects.filter(grant__wallet=wallet).select_related("grant").order_by("id")
    return (
        _taken_part_in(wallet, transaction_id)
        .prefetch_related(Prefetch("allocations", queryset=own, to_attr="own_allocations"))
        .first()
    )


def _taken_part_in(wallet: Wallet, transaction_id: int):
    return (
        CreditTransaction.objects.filter(pk=transaction_id)
        .filter(Q(wallet=wallet) | Q(entries__wallet=wallet))
        .select_related("reverses", "hold", "wallet__user", "actor_user")
    )


def refunds_of(transaction: CreditTransaction):
    return transaction.reversals.filter(kind=Kind.REFUND).order_by("id")


# --- statements ---------------------------------------------------------------------------------


class StatementRow(NamedTuple):
    id: int
    created_at: datetime
    transaction: int
    kind: str
    description: str
    reference: str
    amount: int
    balance_after: int


@dataclass(frozen=True)
class Statement:
    opening_balance: int
    closing_balance: int
    rows: Iterator[StatementRow]


STATEMENT_CHUNK = 2000


def statement(*, wallet: Wallet, since: date, until: date) -> Statement:
    """A wallet's movements from `since` to `until` (inclusive), streamed in chunks.

    The opening balance is the running balance after the last movement before `since`; the
    closing one after the last movement up to `until`. Rows are read lazily, so a year of
    history never sits in memory at once.
    """
    start, end = _start_of(since), _start_of(until + timedelta(days=1))
    movements = Entry.objects.filter(wallet=wallet)
    before = movements.filter(created_at__lt=start).order_by("-id").first()
    last = movements.filter(created_at__lt=end).order_by("-id").first()
    opening = before.balance_after if before else 0
    closing = last.balance_after if last else 0
    # Plain tuples of the columns a statement shows: a million model objects (with their
    # JSON metadata decoded) would triple the time.
    rows = (
        movements.filter(created_at__gte=start, created_at__lt=end)
        .order_by("id")
        .values_list(
            "id",
            "created_at",
            "transaction_id",
            "transaction__kind",
            "transaction__description",
            "transaction__reference",
            "amount",
            "balance_after",
            "transaction__reference_type_id",
        )
        .iterator(chunk_size=STATEMENT_CHUNK)
    )
    return Statement(
        opening_balance=opening,
        closing_balance=closing if last else opening,
        rows=(_statement_row(*row) for row in rows),
    )


def _statement_row(*columns) -> StatementRow:
    """A row with the reference its owner may see (`CreditTransaction.own_reference`)."""
    *shown, reference_type_id = columns
    if reference_type_id is not None:
        shown[5] = ""
    return StatementRow(*shown)


# --- monthly summary ------------------------------------------------------------------------------

# A month's totals, in the order its card shows them, each named for where the credits really
# came from or went: the grant's source for what came in, the transaction's kind for what left.
CATEGORIES = (
    ("purchases", "Purchases"),
    ("subscription", "Subscription"),
    ("promotions", "Promotions"),
    ("staff_grants", "Staff grants"),
    ("refunds", "Refunds"),
    ("transfers_in", "Transfers in"),
    ("transfers_out", "Transfers out"),
    ("spent", "Spent"),
    ("staff_deductions", "Staff deductions"),
    ("expired", "Expired"),
    ("taken_back", "Taken back"),  # revoked when the money was returned (refund, chargeback)
)
ADDED = ("purchases", "subscription", "promotions", "staff_grants", "refunds", "transfers_in")


@dataclass(frozen=True)
class Month:
    month: date
    purchases: int = 0
    subscription: int = 0
    promotions: int = 0
    staff_grants: int = 0
    refunds: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    spent: int = 0
    staff_deductions: int = 0
    expired: int = 0
    taken_back: int = 0

    @property
    def added(self) -> int:
        return sum(getattr(self, name) for name in ADDED)

    @property
    def removed(self) -> int:
        return sum(getattr(self, name) for name, _ in CATEGORIES if name not in ADDED)

    @property
    def lines(self) -> list[tuple[str, int]]:
        """(label, credits) of what moved this month: a card lists no zeros."""
        return [(label, getattr(self, name)) for name, label in CATEGORIES if getattr(self, name)]

    @property
    def has_movements(self) -> bool:
        return bool(self.lines)


def _sum_where(condition: Q, field: str = "amount") -> Sum:
    return Sum(Case(When(condition, then=field), default=0, output_field=IntegerField()))


# A month that has ended gains no movement: the ledger is append-only and every row is dated when
# it is written. So its totals are read once and kept; the margin covers a transaction that began
# in the old month and commits in the new one.
SETTLED_AFTER = timedelta(hours=1)
SETTLED_MONTHS_KEPT = 60 * 60 * 24 * 35  # seconds: until the window has moved on anyway


def monthly_summary(wallet: Wallet, *, months: int = 12) -> list[Month]:
    """Credits in and out per month for the last `months` months, oldest first.

    Two queries whatever the history: over the whole window the first time in a month, over the
    current month only once the months that ended are cached, so a long history costs the
    dashboard one scan a month rather than one a visit.
    """
    today = timezone.localdate()
    current = date(today.year, today.month, 1)
    first = current
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    settled = timezone.now() - _start_of(current) >= SETTLED_AFTER
    key = f"credits:months:v3:{wallet.pk}:{timezone.get_current_timezone_name()}:{first}:{current}"
    ended = cache.get(key) if settled else None
    found = dict(ended) if ended is not None else {}
    found.update(_movements_by_month(wallet, since=current if ended is not None else first))
    if ended is None and settled:
        ended = {month: values for month, values in found.items() if month < current}
        cache.set(key, ended, SETTLED_MONTHS_KEPT)
    result = []
    month = first
    for _ in range(months):
        values = found.get(month, {})
        result.append(Month(month=month, **{name: values.get(name) or 0 for name, _ in CATEGORIES}))
        month = (month + timedelta(days=32)).replace(day=1)
    return result


def _movements_by_month(wallet: Wallet, *, since: date) -> dict[date, dict]:
    """Each month's totals by category, from the first of the month `since` (two queries)."""
    since = _start_of(since)
    Source = CreditGrant.Source
    added = (
        CreditGrant.objects.filter(
            wallet=wallet, transaction__kind__in=[Kind.GRANT, Kind.TRANSFER], created_at__gte=since
        )
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            purchases=_sum_where(Q(source=Source.PURCHASE)),
            subscription=_sum_where(Q(source=Source.SUBSCRIPTION)),
            promotions=_sum_where(Q(source=Source.PROMOTION)),
            staff_grants=_sum_where(Q(source=Source.ADMIN)),
            transfers_in=_sum_where(Q(source=Source.TRANSFER)),
        )
    )
    removed = (
        CreditTransaction.objects.filter(wallet=wallet, created_at__gte=since)
        .exclude(kind=Kind.GRANT)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            spent=_sum_where(Q(kind__in=[Kind.SPEND, Kind.CAPTURE])),
            staff_deductions=_sum_where(Q(kind=Kind.ADJUSTMENT)),
            refunds=_sum_where(Q(kind=Kind.REFUND)),
            transfers_out=_sum_where(Q(kind=Kind.TRANSFER)),
            expired=_sum_where(Q(kind=Kind.EXPIRY)),
            taken_back=_sum_where(Q(kind=Kind.REVOCATION)),
        )
    )
    found: dict[date, dict] = {}
    for row in [*added, *removed]:
        month = row.pop("month")
        month = month.date() if isinstance(month, datetime) else month
        found.setdefault(month, {}).update(row)
    return found


def approval_status(approval: ApprovalRequest, now=None) -> str:
    """A request's status as people should read it: a pending one past its deadline is expired
    (it can no longer be approved) even before anyone tried to decide it."""
    if approval.status == ApprovalRequest.Status.PENDING and not approval.is_open(now):
        return ApprovalRequest.Status.EXPIRED
    return approval.status


def approvals_with_status(approvals, status: str, now=None):
    """`approvals` narrowed to those whose status (as approval_status reads it) is `status`."""
    now = now or timezone.now()
    pending = Q(status=ApprovalRequest.Status.PENDING)
    if status == ApprovalRequest.Status.PENDING:
        return approvals.filter(pending, expires_at__gt=now)
    if status == ApprovalRequest.Status.EXPIRED:
        return approvals.filter(
            Q(status=ApprovalRequest.Status.EXPIRED) | (pending & Q(expires_at__lte=now))
        )
    return approvals.filter(status=status)


def grants_from(obj: models.Model):
    """The credit blocks granted by transactions that reference `obj` (a purchase, an invoice):
    how other apps find what their business object put in the ledger."""
    return CreditGrant.objects.filter(
        transaction__kind=Kind.GRANT,
        transaction__reference_type=ContentType.objects.get_for_model(obj),
        transaction__reference_id=str(obj.pk),
    )


# --- who: the other side of a transfer, who asked ------------------------------------------------


@dataclass(frozen=True)
class TransferParties:
    sender: Wallet
    receiver: Wallet | None


def transfer_parties(transaction: CreditTransaction) -> TransferParties | None:
    """A transfer's sending and receiving wallets (with their users), or None if it is not one.
    The receiver is the other user leg: the transaction's own wallet is the sender's."""
    if transaction.kind != Kind.TRANSFER:
        return None
    legs = Entry.objects.filter(transaction=transaction, wallet__kind=Wallet.Kind.USER)
    wallets = {
        leg.wallet_id: leg.wallet for leg in legs.select_related("wallet__user").order_by("id")
    }
    sender = wallets.pop(transaction.wallet_id, None) or transaction.wallet
    return TransferParties(sender=sender, receiver=next(iter(wallets.values()), None))


# What the system's own actors did, as a person reads it (labels are the commands' names).
SYSTEM_ACTORS = {
    "billing": "CreditDesk, on Stripe's notice of a payment",
    "credits_expire": "CreditDesk, expiring credits past their date",
    "credits_release_holds": "CreditDesk, releasing holds past their date",
    "demo": "CreditDesk's demo data",
}


def asked_by(transaction: CreditTransaction, *, viewer) -> str:
    """Who asked for the transaction, in words for the wallet's owner: themselves, another
    user (a transfer's sender), a staff member, a partner app or CreditDesk itself."""
    Actor = CreditTransaction.ActorKind
    if transaction.actor_kind == Actor.USER:
        if transaction.actor_user_id == viewer.pk:
            return "You"
        return transaction.actor_user.get_full_name() if transaction.actor_user else "Another user"
    if transaction.actor_kind == Actor.STAFF:
        return "A CreditDesk staff member"
    if transaction.actor_kind == Actor.APP:
        return f"The partner app {transaction.actor_label}"
    return SYSTEM_ACTORS.get(transaction.actor_label, "CreditDesk (automatic)")


def thresholds_of(wallet: Wallet) -> list[int]:
    """The wallet's low-balance thresholds as stored now, highest first."""
    alerts = Wallet.objects.values_list("alerts", flat=True).get(pk=wallet.pk)
    return [alert["threshold"] for alert in alerts or []]
