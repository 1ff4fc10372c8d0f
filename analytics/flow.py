"""The credits flow of a period: what came into users' wallets, what left them and how.

Made from the ledger's entries with set-based SQL, never from counters kept on the side. The
period is [since, until) in UTC, by each entry's time (when the posting was written). Only
user wallets count; system accounts are the other side of every posting.

    opening balance + issued - consumed - expired - taken back = closing balance

where the balances are the sums of all user wallets' balances at the period's start and end
(for a period not yet over: the wallets' balances now, as the ledger keeps them), and:

- issued: credits from outside the users' wallets, by source: a purchase, a subscription, a
  promotion, a staff grant (`admin`), a refund (a spend, capture, deduction or expiry given
  back, in the refund's own period);
- consumed: spends and captures, split into paid and promotional by the grants their
  allocations took from (by the grant's promotional flag: a promotion's grants have it, a staff
  grant has it when staff set it, otherwise it counts as paid);
- expired: credits past their grant's date;
- taken back: revocations (a purchase refunded, its credits taken back) and staff deductions;
- transferred: moved from one user's wallet to another's, so neither issued nor consumed (the
  figure is what moved; its net over all wallets is zero);
- held: reserved by open holds at the period's end (part of the balance, not yet consumed).

A kind of movement outside these, or a transfer that does not net to zero, makes the flow not
close: `problems` says so.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from analytics.periods import Period
from analytics.report import Report, Table
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Wallet

Kind = CreditTransaction.Kind
Source = CreditGrant.Source
ISSUED_SOURCES = (Source.PURCHASE, Source.SUBSCRIPTION, Source.PROMOTION, Source.ADMIN)
CONSUMED_KINDS = (Kind.SPEND, Kind.CAPTURE)
TAKEN_BACK_KINDS = (Kind.REVOCATION, Kind.ADJUSTMENT)
HOLD_SIGNS = {Kind.HOLD: 1, Kind.CAPTURE: -1, Kind.RELEASE: -1}
ON_USER_WALLETS = Q(wallet__kind=Wallet.Kind.USER)


@dataclass
class Flow:
    since: datetime
    until: datetime
    opening_balance: int
    closing_balance: int
    issued_by_source: dict[str, int]
    consumed_paid: int
    consumed_promotional: int
    expired: int
    taken_back: int
    transferred: int
    held: int
    problems: list[str] = field(default_factory=list)

    @property
    def issued(self) -> int:
        return sum(self.issued_by_source.values())

    @property
    def consumed(self) -> int:
        return self.consumed_paid + self.consumed_promotional

    @property
    def expected_closing_balance(self) -> int:
        flowed = self.issued - self.consumed - self.expired - self.taken_back
        return self.opening_balance + flowed

    @property
    def closes(self) -> bool:
        return not self.problems and self.expected_closing_balance == self.closing_balance

    def rows(self) -> list[tuple[str, int]]:
        """The figures as the page's table and its CSV show them, in the flow's order."""
        labels = {
            Source.PURCHASE: "purchases",
            Source.SUBSCRIPTION: "subscriptions",
            Source.PROMOTION: "promotions",
            Source.ADMIN: "staff grants",
            Source.REFUND: "refunds",
        }
        return [
            ("Opening balance", self.opening_balance),
            *((f"Issued: {labels[s]}", self.issued_by_source[s]) for s in _SOURCES),
            ("Issued", self.issued),
            ("Consumed: paid", self.consumed_paid),
            ("Consumed: promotional", self.consumed_promotional),
            ("Consumed", self.consumed),
            ("Expired", self.expired),
            ("Taken back", self.taken_back),
            ("Closing balance", self.closing_balance),
            ("Transferred between users (not in the flow)", self.transferred),
            ("Held by open holds at the end (in the balance)", self.held),
        ]

    def report(self) -> Report:
        """The page's table: the flow's figures, its chart drawing the flow without its parts."""
        problems = list(self.problems)
        if not self.closes and not problems:
            problems.append(
                f"Opening balance and flows come to {self.expected_closing_balance:,}; the "
                f"closing balance is {self.closing_balance:,}."
            )
        table = Table(
            caption=f"Credits flow, {Period(self.since, self.until).label()}",
            columns=["Figure", "Credits"],
            rows=[[label, value] for label, value in self.rows()],
            charted=CHARTED,
        )
        return Report(title="Credits flow", basis=BASIS, tables=[table], problems=problems)

    def figures(self) -> dict:
        """The flow's figures by name, as the report prints them."""
        return {
            "from": self.since.isoformat(),
            "to": self.until.isoformat(),
            "opening_balance": self.opening_balance,
            "issued": self.issued,
            **{f"issued_{source}": self.issued_by_source[source] for source in _SOURCES},
            "consumed": self.consumed,
            "consumed_paid": self.consumed_paid,
            "consumed_promotional": self.consumed_promotional,
            "expired": self.expired,
            "taken_back": self.taken_back,
            "closing_balance": self.closing_balance,
            "transferred": self.transferred,
            "held": self.held,
            "closes": self.closes,
        }


_SOURCES = (*ISSUED_SOURCES, Source.REFUND)
BASIS = (
    "From the ledger's entries on users' wallets, by when each posting was written, in UTC. "
    "Opening balance + issued - consumed - expired - taken back = closing balance, the balances "
    "being the sum of all user wallets' balances at the period's start and end. A refund "
    "counts in the refund's month. Credits, not money: a second currency never mixes in."
)
CHARTED = ("Opening balance", "Issued", "Consumed", "Expired", "Taken back", "Closing balance")


def credits_flow(*, since: datetime, until: datetime) -> Flow:
    """The credits flow of [since, until)."""
    ongoing = until > timezone.now()
    kept = _wallets_now() if ongoing else None
    moved = _moved_by_kind(since, until)
    balances = _balances_at([since] if ongoing else [since, until])
    issued = {source: 0 for source in _SOURCES}
    issued.update(_granted_by_source(since, until))
    issued[Source.REFUND] = moved.pop(Kind.REFUND, {}).get("net", 0)
    moved.pop(Kind.GRANT, None)
    consumed = -sum(moved.pop(kind, {}).get("net", 0) for kind in CONSUMED_KINDS)
    paid, promotional = _consumed_by_cost(since, until)
    expired = -moved.pop(Kind.EXPIRY, {}).get("net", 0)
    taken_back = -sum(moved.pop(kind, {}).get("net", 0) for kind in TAKEN_BACK_KINDS)
    transfers = moved.pop(Kind.TRANSFER, {"net": 0, "in": 0})
    problems = []
    if paid + promotional != consumed:
        problems.append(
            f"Consumed {consumed} by the entries but {paid + promotional} by the allocations."
        )
    if transfers["net"] != 0:
        problems.append(f"Transfers do not net to zero: {transfers['net']:+d}.")
    for kind, sums in moved.items():
        problems.append(f"{sums['net']:+d} credits moved by {kind} postings, outside the flow.")
    return Flow(
        since=since,
        until=until,
        opening_balance=balances[0],
        closing_balance=kept["balance"] if ongoing else balances[1],
        issued_by_source=issued,
        consumed_paid=paid,
        consumed_promotional=promotional,
        expired=expired,
        taken_back=taken_back,
        transferred=transfers["in"],
        held=kept["held"] if ongoing else held_at([until])[0],
        problems=problems,
    )


def _in(since: datetime, until: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}created_at__gte": since, f"{prefix}created_at__lt": until})


def _moved_by_kind(since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Per kind of posting, the credits it moved on user wallets: net, and what came in."""
    rows = (
        Entry.objects.filter(ON_USER_WALLETS, _in(since, until))
        .values("transaction__kind")
        .annotate(net=Sum("amount"), came_in=Sum("amount", filter=Q(amount__gt=0)))
    )
    return {
        row["transaction__kind"]: {"net": row["net"], "in": row["came_in"] or 0} for row in rows
    }


def _granted_by_source(since: datetime, until: datetime) -> dict[str, int]:
    source = CreditGrant.objects.filter(transaction=OuterRef("transaction")).values("source")
    rows = (
        Entry.objects.filter(ON_USER_WALLETS, _in(since, until), transaction__kind=Kind.GRANT)
        .annotate(source=Subquery(source[:1]))
        .values("source")
        .annotate(total=Sum("amount"))
    )
    found = defaultdict(int)
    for row in rows:
        found[row["source"]] += row["total"]
    return found


def _consumed_by_cost(since: datetime, until: datetime) -> tuple[int, int]:
    """Spends and captures of the period through their allocations: (paid, promotional)."""
    totals = Allocation.objects.filter(
        _in(since, until, "transaction__"), transaction__kind__in=CONSUMED_KINDS
    ).aggregate(
        paid=Sum("amount", filter=Q(grant__is_promotional=False)),
        promotional=Sum("amount", filter=Q(grant__is_promotional=True)),
    )
    return totals["paid"] or 0, totals["promotional"] or 0


def _balances_at(moments: list[datetime]) -> list[int]:
    """The user wallets' balances summed at each moment, from their entries in one pass."""
    totals = Entry.objects.filter(ON_USER_WALLETS, created_at__lt=max(moments)).aggregate(
        **{
            f"at_{index}": Sum("amount", filter=Q(created_at__lt=moment))
            for index, moment in enumerate(moments)
        }
    )
    return [totals[f"at_{index}"] or 0 for index in range(len(moments))]


def _wallets_now() -> dict[str, int]:
    """The user wallets' balance and held as the ledger keeps them, summed."""
    totals = Wallet.objects.filter(kind=Wallet.Kind.USER).aggregate(
        balance=Sum("balance"), held=Sum("held")
    )
    return {name: total or 0 for name, total in totals.items()}


def held_at(moments: list[datetime]) -> list[int]:
    """What open holds reserved at each moment: placed, less captured and released, before it."""
    totals = (
        CreditTransaction.objects.filter(kind__in=HOLD_SIGNS)
        .exclude(hold=None)
        .aggregate(
            **{
                f"{kind}_{index}": Sum("amount", filter=Q(kind=kind, created_at__lt=moment))
                for index, moment in enumerate(moments)
                for kind in HOLD_SIGNS
            }
        )
    )
    return [
        sum(sign * (totals[f"{kind}_{index}"] or 0) for kind, sign in HOLD_SIGNS.items())
        for index in range(len(moments))
    ]
