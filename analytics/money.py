"""Money, per currency and never summed across currencies: revenue from the shop's payments,
and deferred revenue (the liability for paid credits not yet used) from the ledger.

**Revenue** of a month: packs paid in it (by `paid_at`) and subscription invoices recorded in
it, gross; less the money that went back in it (refunds and chargebacks lost, each dated when
Stripe told us: a refund in a later month counts in the refund's month), net. Cash as Stripe
moved it, ex tax (CreditDesk charges none).

**Deferred revenue** at a moment: over the paid grants (those with a cost basis: purchases,
subscriptions, staff grants given one, and the refund and transfer grants that carry one on),
each grant's credits still owed x its cost basis. Credits still owed are its amount less what
spends, captures, expiries, revocations, deductions and transfers took, plus what refunds gave
back: held credits are still owed (a hold only reserves them).

**The rounding rule**: credits become money once per grant, half-even to the currency's minor
unit: a grant's carrying amount is round(owed x basis). A movement's money is the change it
makes in its grant's carrying amount, in the order the ledger wrote them. So the movements of
any period add up exactly to the change in the liability (the roll-forward closes to the minor
unit), a month's figures are the same whichever range they are shown in, and no rounding
difference is left over except where a transfer moves credits between two grants (its line
then shows what rounding made of it, at most a minor unit a transfer).

    opening + issued + given back + transferred - recognised - breakage - taken back = closing

(each line is kept and shown as its signed change, so the page adds them: opening + lines).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    When,
)
from django.db.models.functions import TruncMonth

from analytics.models import LiabilityDay, SnapshotBuild
from analytics.periods import Period, day_start
from analytics.report import Report, Table
from billing.models import CreditPackage, MoneyBack, Purchase, SubscriptionInvoice
from billing.services.subscription_events import ROLLOVER_KEY_SUFFIX
from billing.stripe_api import ZERO_DECIMAL_CURRENCIES
from credits.models import Allocation, CreditGrant, CreditTransaction, Wallet

Kind = CreditTransaction.Kind
Source = CreditGrant.Source
ZERO = Decimal(0)

# What each kind of allocation does to a paid grant's liability, and under which line.
USED = {Kind.SPEND: "recognised", Kind.CAPTURE: "recognised"}
TAKEN = {
    **USED,
    Kind.EXPIRY: "breakage",
    Kind.REVOCATION: "taken_back",
    Kind.ADJUSTMENT: "taken_back",
    Kind.TRANSFER: "transferred",
}
GIVEN = {Kind.REFUND: "given_back"}
# A new paid grant, by source: issued, or credits coming back or moving in.
CREATED = {Source.REFUND: "given_back", Source.TRANSFER: "transferred"}
PAID_SOURCES = (Source.PURCHASE, Source.SUBSCRIPTION)
# A plan's unused credits rolled over: billing expires the period's grant and grants what the
# plan carries on again, at its basis. The new grant nets out of breakage (they were not lost).
ROLLOVER_KEY = "transaction__idempotency_record__key"


def pack_sales():
    """The packs paid for. A plan's checkout leaves a paid purchase too, but its money is the
    first invoice's (counted as the subscription's): only a pack's purchase is a sale itself."""
    return Purchase.objects.filter(paid_at__isnull=False, package__kind=CreditPackage.Kind.PACK)


def currencies() -> list[str]:
    """The currencies any money was kept in, the most used first (the pages' default)."""
    used: dict[str, int] = defaultdict(int)
    # One query for the three (every page asks, and a page has under 20 to spend).
    counted = [
        rows.values("currency").annotate(n=Count("pk")).order_by()
        for rows in (
            pack_sales(),
            SubscriptionInvoice.objects.all(),
            CreditGrant.objects.filter(cost_basis__isnull=False),
        )
    ]
    for code, n in counted[0].union(*counted[1:], all=True).values_list("currency", "n"):
        if code:
            used[code.lower()] += n
    return sorted(used, key=lambda code: (-used[code], code)) or ["usd"]


def minor_unit(currency: str) -> Decimal:
    return Decimal(1) if currency.lower() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def to_minor(amount: Decimal, currency: str) -> Decimal:
    """An amount written to its currency's places (sums of stored amounts already are)."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


def carried(owed: int, basis: Decimal, currency: str) -> Decimal:
    """A grant's carrying amount: its owed credits x basis, half-even to the minor unit."""
    return (owed * basis).quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


# --- Revenue ------------------------------------------------------------------------------------


@dataclass
class MonthRevenue:
    start: datetime
    packs: Decimal = ZERO
    subscriptions: Decimal = ZERO
    refunds: Decimal = ZERO
    chargebacks: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return self.packs + self.subscriptions

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds - self.chargebacks


@dataclass
class Revenue:
    period: Period
    currency: str
    months: list[MonthRevenue]

    @property
    def total(self) -> MonthRevenue:
        total = MonthRevenue(self.period.since)
        for part in ("packs", "subscriptions", "refunds", "chargebacks"):
            setattr(total, part, sum((getattr(m, part) for m in self.months), ZERO))
        return total

    def figures(self) -> dict[str, Decimal]:
        """The period's totals by name, as the report prints them."""
        total = self.total
        names = ("packs", "subscriptions", "gross", "refunds", "chargebacks", "net")
        return {f"revenue_{name}": to_minor(getattr(total, name), self.currency) for name in names}

    def report(self) -> Report:
        code = self.currency.upper()
        rows = [[f"{m.start:%Y-%m}", *_revenue_figures(m)] for m in self.months]
        if len(self.months) > 1:
            rows.append(["Total", *_revenue_figures(self.total)])
        table = Table(
            caption=f"Revenue in {code}, {self.period.label()}",
            columns=[
                "Month",
                "Packs",
                "Subscriptions",
                "Gross",
                "Refunds",
                "Chargebacks lost",
                "Net",
            ],
            rows=rows,
            charted=tuple(row[0] for row in rows if row[0] != "Total"),
            chart_column=6,
            currency=self.currency,
        )
        return Report(title=f"Revenue ({code})", basis=REVENUE_BASIS, tables=[table])


REVENUE_BASIS = (
    "Cash as Stripe moved it, in one currency, by month in UTC: packs by when they were paid, "
    "subscription invoices by when they were recorded paid; refunds and chargebacks lost in the "
    "month Stripe told us of them (a refund in a later month counts in that month). Net = gross "
    "- refunds - chargebacks lost. The chart draws each month's net."
)


def _revenue_figures(m: MonthRevenue) -> list[Decimal]:
    return [m.packs, m.subscriptions, m.gross, m.refunds, m.chargebacks, m.net]


def revenue(period: Period, currency: str) -> Revenue:
    nothing = to_minor(ZERO, currency)
    months = {
        start: MonthRevenue(start, nothing, nothing, nothing, nothing) for start, _ in period.months
    }

    def add(rows, part: str) -> None:
        for row in rows:
            target = months[row["month"]]
            setattr(target, part, getattr(target, part) + to_minor(row["total"], currency))

    add(_by_month(pack_sales(), "paid_at", period, currency), "packs")
    add(_by_month(SubscriptionInvoice.objects, "created_at", period, currency), "subscriptions")
    money_back = list(_by_month(MoneyBack.objects, "created_at", period, currency, "kind"))
    parts = {MoneyBack.Kind.REFUND: "refunds", MoneyBack.Kind.CHARGEBACK: "chargebacks"}
    for kind, part in parts.items():
        add((row for row in money_back if row["kind"] == kind), part)
    return Revenue(period=period, currency=currency, months=list(months.values()))


def _by_month(rows, moment: str, period: Period, currency: str, *by: str):
    """The rows' amounts summed per UTC month of `moment` (and per field of `by`)."""
    return (
        rows.filter(
            **{f"{moment}__gte": period.since, f"{moment}__lt": period.until},
            currency__iexact=currency,
        )
        .annotate(month=TruncMonth(moment, tzinfo=UTC))
        .values("month", *by)
        .annotate(total=Sum("amount"))
        .order_by()
    )


# --- Deferred revenue ---------------------------------------------------------------------------

# The roll-forward's lines, each the change it made to the liability (in credits and money).
LINES = ("issued", "given_back", "transferred", "recognised", "breakage", "taken_back")


@dataclass
class Figure:
    """Credits and their money (a liability, or a line's change to it)."""

    credits: int = 0
    money: Decimal = ZERO

    def add(self, credits: int, money: Decimal) -> None:
        self.credits += credits
        self.money += money


@dataclass
class Cohort:
    start: datetime
    issued: int = 0
    expired: int = 0
    breakage: Decimal = ZERO

    @property
    def rate(self) -> str:
        return f"{self.expired / self.issued:.1%}" if self.issued else "—"


@dataclass
class DeferredRevenue:
    period: Period
    currency: str
    opening: Figure
    closing: Figure
    lines: dict[str, Figure]
    cohorts: list[Cohort] = field(default_factory=list)
    snapshots: SnapshotBuild | None = None  # the rebuild the figures were read from, if any

    @property
    def expected_closing(self) -> Figure:
        return _rolled(self.opening, self.lines)

    @property
    def closes(self) -> bool:
        return self.expected_closing == self.closing

    def figures(self) -> dict[str, int | Decimal | bool]:
        """The roll-forward by name, as the report prints them: credits and money."""
        named = {"liability_opening": self.opening}
        named.update({f"liability_{name}": self.lines[name] for name in LINES})
        named["liability_closing"] = self.closing
        found: dict[str, int | Decimal | bool] = {}
        for name, figure in named.items():
            found[f"{name}_credits"] = figure.credits
            found[name] = to_minor(figure.money, self.currency)
        found["liability_closes"] = self.closes
        return found

    def report(self) -> Report:
        code = self.currency.upper()
        labels = {
            "issued": "Issued (paid credits bought or granted with a cost)",
            "given_back": "Given back (refunds of use or expiry)",
            "transferred": "Transferred between users (net)",
            "recognised": "Recognised on use",
            "breakage": "Breakage on expiry (less what a plan rolled over)",
            "taken_back": "Taken back (refunds, chargebacks, deductions)",
        }
        rows = [["Opening liability", self.opening.credits, self.opening.money]]
        for name in LINES:
            rows.append([labels[name], self.lines[name].credits, self.lines[name].money])
        rows.append(["Closing liability", self.closing.credits, self.closing.money])
        rollforward = Table(
            caption=f"Deferred revenue roll-forward in {code}, {self.period.label()}",
            columns=["Figure", "Credits", "Money"],
            rows=rows,
            chart_column=2,
            currency=self.currency,
        )
        cohorts = Table(
            caption=f"Breakage by month of purchase in {code}, as of the period's end",
            columns=["Month bought", "Paid credits issued", "Expired", "Breakage", "Breakage rate"],
            rows=[
                [f"{c.start:%Y-%m}", c.issued, c.expired, c.breakage, c.rate] for c in self.cohorts
            ],
            chart_column=3,
            currency=self.currency,
        )
        problems = []
        if not self.closes:
            expected = self.expected_closing
            problems.append(
                f"Opening liability and movements come to {expected.credits:,} credits and "
                f"{expected.money} {code}; the closing liability is {self.closing.credits:,} and "
                f"{self.closing.money}."
            )
        return Report(
            title=f"Deferred revenue and breakage ({code})",
            basis=DEFERRED_BASIS + _read_from(self.snapshots),
            tables=[rollforward, cohorts],
            problems=problems,
        )


def _rolled(opening: Figure, lines: dict[str, Figure]) -> Figure:
    """Where the opening and the lines come to: the closing the roll-forward expects."""
    closing = Figure(opening.credits, opening.money)
    for figure in lines.values():
        closing.add(figure.credits, figure.money)
    return closing


DEFERRED_BASIS = (
    "The liability for paid credits not yet used (ASC 606 contract liability), from the "
    "ledger's grants and allocations: each paid grant's credits still owed (held ones included) "
    "x its cost basis, converted once per grant and rounded half-even to the minor unit; each "
    "movement's money is the change it makes in its grant's amount, in the order the ledger "
    "wrote them, so the roll-forward closes to the minor unit. Each line is shown as the change "
    "it made, signed (what left is negative): opening + the lines = closing. Promotional "
    "credits have no cost and are not in it. Breakage rate = expired paid credits (less what a "
    "refund of the expiry gave back) / paid credits issued."
)


def _read_from(build: SnapshotBuild | None) -> str:
    if build is None:
        return " Read from the ledger."
    return (
        f" The roll-forward's days before {build.until:%Y-%m-%d} are read from the daily "
        f"snapshots rebuilt at {build.built_at:%Y-%m-%d %H:%M} UTC (analytics_rebuild), later "
        "ones from the ledger."
    )


def deferred_revenue(period: Period, currency: str, *, live: bool = False) -> DeferredRevenue:
    """The period's roll-forward: from the daily snapshots where a usable rebuild covers its
    start (the ledger after the rebuild's end), else from the ledger alone. `live` reads the
    ledger only: what the snapshots must equal."""
    rolled = None if live else _rolled_from_snapshots(period.since, period.until, currency)
    opening, lines, closing, build = rolled or _rolled_live(period.since, period.until, currency)
    return DeferredRevenue(
        period=period,
        currency=currency,
        opening=opening,
        closing=closing,
        lines=lines,
        cohorts=_cohorts(period, currency),
        snapshots=build,
    )


def liabilities_at(moments: list[datetime], currency: str, *, live: bool = False) -> list[Figure]:
    """Deferred revenue at each moment: the paid credits still owed and their carrying amount."""
    found = None if live else _liabilities_from_snapshots(moments, currency)
    if found is not None:
        return found
    return [liability(owed, currency) for owed in owed_at(tuple(moments), currency)]


@dataclass(frozen=True)
class Movement:
    """A change to a paid grant's credits owed, as the ledger wrote it."""

    moment: datetime
    grant: int
    basis: Decimal
    line: str
    change: int


def no_lines(currency: str) -> dict[str, Figure]:
    return {name: Figure(0, to_minor(ZERO, currency)) for name in LINES}


def walked(owed: dict[int, int], movement: Movement, currency: str) -> Decimal:
    """Applies a movement to its grant's credits owed; its money is the change it makes to the
    grant's carrying amount (the rounding rule)."""
    before = owed.get(movement.grant, 0)
    owed[movement.grant] = before + movement.change
    return carried(owed[movement.grant], movement.basis, currency) - carried(
        before, movement.basis, currency
    )


def _rolled_live(since: datetime, until: datetime, currency: str):
    opening, closing = owed_at((since, until), currency)
    lines = no_lines(currency)
    owed = {grant: credits for grant, (credits, _) in opening.items()}
    for movement in movements(since, until, currency):
        lines[movement.line].add(movement.change, walked(owed, movement, currency))
    return liability(opening, currency), lines, liability(closing, currency), None


# The daily snapshots (analytics.snapshots builds them): a day's opening liability and each
# line's change over it. A period's figures are the rows of its days; what the ledger wrote
# after the rebuild's end (today, mostly) is walked live from the grants it touched.


def _usable_build(earliest: datetime) -> SnapshotBuild | None:
    build = SnapshotBuild.objects.order_by("-pk").first()
    if build is None or earliest < build.since:
        return None
    late = CreditTransaction.objects.filter(
        pk__gt=build.through_transaction, created_at__lt=build.until
    )
    return None if late.exists() else build


def _rolled_from_snapshots(since: datetime, until: datetime, currency: str):
    build = _usable_build(since)
    if build is None or (since < build.until and day_start(since) != since):
        return None
    if until < build.until and day_start(until) != until:
        return None
    first, last = min(since, build.until), min(until, build.until)
    opening, lines = Figure(0, to_minor(ZERO, currency)), no_lines(currency)
    rows = (
        LiabilityDay.objects.filter(currency=currency.lower())
        .filter(
            Q(line=LiabilityDay.OPENING, day=_day(first))
            | Q(day__gte=_day(first), day__lt=_day(last), line__in=LINES)
        )
        .values("line")
        .annotate(credits=Sum("credits"), money=Sum("money"))
        .order_by()
    )
    for row in rows:
        target = opening if row["line"] == LiabilityDay.OPENING else lines[row["line"]]
        # The column keeps two places for every currency: back to the currency's own (¥60,
        # not ¥60.00), so the CSV writes what the ledger's figures write.
        target.add(row["credits"], to_minor(row["money"], currency))
    if until > build.until:
        for moment, line, change, money in _changes_after(build.until, until, currency):
            (opening if moment < since else lines[line]).add(change, money)
    return opening, lines, _rolled(opening, lines), build


def _liabilities_from_snapshots(moments: list[datetime], currency: str) -> list[Figure] | None:
    build = _usable_build(min(moments))
    if build is None or any(day_start(m) != m for m in moments if m < build.until):
        return None
    days = {_day(min(m, build.until)) for m in moments}
    openings = {
        row["day"]: Figure(row["credits"], to_minor(row["money"], currency))
        for row in LiabilityDay.objects.filter(
            currency=currency.lower(), line=LiabilityDay.OPENING, day__in=days
        ).values("day", "credits", "money")
    }
    later = [m for m in moments if m > build.until]
    changes = _changes_after(build.until, max(later), currency) if later else []
    found = []
    for moment in moments:
        known = openings.get(_day(min(moment, build.until)), Figure(0, to_minor(ZERO, currency)))
        figure = Figure(known.credits, known.money)
        for changed_at, _, change, money in changes:
            if changed_at < moment:
                figure.add(change, money)
        found.append(figure)
    return found


def _changes_after(start: datetime, until: datetime, currency: str):
    """The movements of [start, until) with their money: (moment, line, change, money), walked
    from what the grants they touch owed at `start`."""
    touched = Allocation.objects.filter(
        transaction__created_at__gte=start, transaction__created_at__lt=until
    ).values("grant")
    (before,) = owed_at((start,), currency, among=touched)
    owed = {grant: credits for grant, (credits, _) in before.items()}
    return [
        (m.moment, m.line, m.change, walked(owed, m, currency))
        for m in movements(start, until, currency)
    ]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _paid_grants(currency: str):
    return CreditGrant.objects.filter(
        cost_basis__isnull=False, currency__iexact=currency, wallet__kind=Wallet.Kind.USER
    )


def owed_at(
    moments: tuple[datetime, ...], currency: str, among=None
) -> list[dict[int, tuple[int, Decimal]]]:
    """For each moment, the paid grants that still owe credits then: {grant: (owed, basis)}.
    One pass over the allocations for all the moments; a grant owing nothing (used up, expired)
    converts to nothing and is left out, so only the grants alive then reach Python."""
    owed = {}
    for index, moment in enumerate(moments):
        made = Case(When(created_at__lt=moment, then=F("amount")), default=0)
        changed = Sum(
            _owed_change("allocations__"),
            filter=Q(allocations__transaction__created_at__lt=moment),
            default=0,
        )
        owed[f"owed_{index}"] = ExpressionWrapper(made + changed, output_field=IntegerField())
    alive = Q()
    for name in owed:
        alive |= Q(**{f"{name}__gt": 0})
    grants = _paid_grants(currency)
    if among is not None:
        grants = grants.filter(pk__in=among)
    rows = (
        grants.filter(created_at__lt=max(moments))
        .annotate(**owed)
        .filter(alive)
        .values_list("pk", "cost_basis", *owed)
    )
    found: list[dict[int, tuple[int, Decimal]]] = [{} for _ in moments]
    for pk, basis, *owed_then in rows:
        for index, credits in enumerate(owed_then):
            if credits:
                found[index][pk] = (credits, basis)
    return found


def _owed_change(prefix: str = ""):
    """An allocation's change to its grant's owed credits (holds and releases: none)."""
    kind = f"{prefix}transaction__kind__in"
    return Case(
        When(**{kind: list(TAKEN)}, then=-F(f"{prefix}amount")),
        When(**{kind: list(GIVEN)}, then=F(f"{prefix}amount")),
        default=0,
        output_field=IntegerField(),
    )


def liability(owed: dict[int, tuple[int, Decimal]], currency: str) -> Figure:
    total = Figure(0, to_minor(ZERO, currency))
    for credits, basis in owed.values():
        total.add(credits, carried(credits, basis, currency))
    return total


def movements(since: datetime, until: datetime, currency: str) -> list[Movement]:
    """The changes of [since, until) to paid grants, in the order the ledger wrote them, grant
    by grant: a grant's creation comes before its allocations."""
    created = _paid_grants(currency).filter(created_at__gte=since, created_at__lt=until)
    allocated = Allocation.objects.filter(
        grant__in=_paid_grants(currency),
        transaction__created_at__gte=since,
        transaction__created_at__lt=until,
        transaction__kind__in=[*TAKEN, *GIVEN],
    )
    found = [
        *(
            ((row["created_at"], 0, row["pk"]), _created(row))
            for row in created.values(*CREATED_FIELDS)
        ),
        *(
            ((row["transaction__created_at"], 1, row["transaction"]), _allocated(row))
            for row in allocated.values(*ALLOCATED_FIELDS)
        ),
    ]
    found.sort(key=lambda item: (item[1].grant, item[0]))
    return [movement for _, movement in found]


CREATED_FIELDS = ("pk", "created_at", "cost_basis", "source", "amount", ROLLOVER_KEY)
ALLOCATED_FIELDS = (
    "grant",
    "grant__cost_basis",
    "transaction",
    "transaction__kind",
    "transaction__created_at",
    "amount",
)


def _created(row: dict) -> Movement:
    return Movement(
        row["created_at"], row["pk"], row["cost_basis"], _created_line(row), row["amount"]
    )


def _allocated(row: dict) -> Movement:
    kind = row["transaction__kind"]
    return Movement(
        moment=row["transaction__created_at"],
        grant=row["grant"],
        basis=row["grant__cost_basis"],
        line=GIVEN.get(kind) or TAKEN[kind],
        change=row["amount"] if kind in GIVEN else -row["amount"],
    )


def _created_line(grant: dict) -> str:
    key = grant[ROLLOVER_KEY] or ""
    if grant["source"] == Source.SUBSCRIPTION and key.endswith(ROLLOVER_KEY_SUFFIX):
        return "breakage"
    return CREATED.get(grant["source"], "issued")


def _cohorts(period: Period, currency: str) -> list[Cohort]:
    """Paid grants bought in the period, by month: what expired of them by the period's end."""
    cohorts = {
        start: Cohort(start, breakage=to_minor(ZERO, currency)) for start, _ in period.months
    }
    bought = _paid_grants(currency).filter(
        source__in=PAID_SOURCES, created_at__gte=period.since, created_at__lt=period.until
    )
    by_month = TruncMonth("created_at", tzinfo=UTC)
    for row in bought.annotate(month=by_month).values("month").annotate(issued=Sum("amount")):
        cohorts[row["month"]].issued += row["issued"]
    # Only the grants that expired reach Python, each converted once (the rounding rule).
    expired = bought.annotate(
        month=by_month,
        expired=Sum(
            "allocations__amount",
            filter=Q(
                allocations__transaction__kind=Kind.EXPIRY,
                allocations__transaction__created_at__lt=period.until,
            ),
        ),
    ).filter(expired__gt=0)
    given_back = _expiries_given_back(period.until)
    for pk, month, basis, credits in expired.values_list("pk", "month", "cost_basis", "expired"):
        credits -= given_back.get(pk, 0)
        cohorts[month].expired += credits
        cohorts[month].breakage += carried(credits, basis, currency)
    return [cohort for cohort in cohorts.values() if cohort.issued]


def _expiries_given_back(until: datetime) -> dict[int, int]:
    """Per grant, the credits of its expiries that refunds before `until` gave back: they are
    owed again, so not lost. A refund takes an expiry's allocations in their order (as
    credits.services.movements does), so its total is shared out the same way."""
    refunded = dict(
        CreditTransaction.objects.filter(
            kind=Kind.REFUND, reverses__kind=Kind.EXPIRY, created_at__lt=until
        )
        .values("reverses")
        .annotate(total=Sum("amount"))
        .values_list("reverses", "total")
    )
    found: dict[int, int] = defaultdict(int)
    if not refunded:
        return found
    allocations = Allocation.objects.filter(transaction__in=refunded).order_by("transaction", "pk")
    for txn, grant, amount in allocations.values_list("transaction", "grant", "amount"):
        taken = min(amount, refunded[txn])
        refunded[txn] -= taken
        found[grant] += taken
    return found
