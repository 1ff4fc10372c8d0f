"""What each promo code did in a period: its uses, the credits it gave and how many of them were
used, what those would have cost at list price, and the purchases that came with it.

A code's credits are the PROMOTION-source grants it made, tied to it by the grant's transaction
reference (billing.services): a free-credits code's grant references its redemption
(`redemption:<pk>`), a bonus code's grant references the purchase that carried the code (the
purchase's `promotion`). Everything is counted by set-based SQL grouped by code.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast

from analytics.money import ZERO, pack_sales, to_minor
from analytics.periods import Period
from analytics.report import Report, Table
from billing.models import CreditPackage, Promotion, Purchase, Redemption
from credits.models import Allocation, CreditGrant, CreditTransaction, Wallet

Kind = CreditTransaction.Kind
USED_KINDS = (Kind.SPEND, Kind.CAPTURE)


@dataclass
class CodeFigures:
    code: str
    kind: str
    redemptions: int = 0
    granted: int = 0
    used: int = 0
    purchases: int = 0
    purchase_money: Decimal = ZERO
    cost: Decimal | None = None  # memo: used x list price; None without a list price


@dataclass(frozen=True)
class ListPrice:
    """The cheapest active pack's price per credit in a currency: what a promotional credit
    would have cost a buyer."""

    package: str
    price: Decimal
    credits: int

    def of(self, credits: int, currency: str) -> Decimal:
        return to_minor(credits * self.price / self.credits, currency)

    @property
    def per_credit(self) -> Decimal:
        return self.price / self.credits


@dataclass
class Promotions:
    period: Period
    currency: str
    list_price: ListPrice | None
    codes: list[CodeFigures] = field(default_factory=list)

    @property
    def total(self) -> CodeFigures:
        total = CodeFigures("Total", "")
        for part in ("redemptions", "granted", "used", "purchases"):
            setattr(total, part, sum(getattr(c, part) for c in self.codes))
        total.purchase_money = sum((c.purchase_money for c in self.codes), ZERO)
        if self.list_price is not None:
            total.cost = sum((c.cost for c in self.codes), ZERO)
        return total

    def figures(self) -> dict[str, dict[str, int | Decimal | None]]:
        """Each code's figures (and the total's) by name, as the report prints them."""
        return {
            c.code: {
                "redemptions": c.redemptions,
                "granted": c.granted,
                "used": c.used,
                "cost": c.cost,
                "purchases": c.purchases,
                "purchase_money": c.purchase_money,
            }
            for c in [*self.codes, self.total]
        }

    def report(self) -> Report:
        code = self.currency.upper()
        rows = [_row(c) for c in self.codes]
        if self.codes:
            rows.append(_row(self.total))
        table = Table(
            caption=f"Promotions, {self.period.label()} (money in {code})",
            columns=[
                "Code",
                "Kind",
                "Redemptions",
                "Credits granted",
                "Credits used",
                "Cost at list price (memo)",
                "Purchases with it",
                "Purchase money",
            ],
            rows=rows,
            charted=tuple(c.code for c in self.codes),
            chart_column=3,
            currency=self.currency,
        )
        problems = []
        if self.list_price is None:
            problems.append(
                f"No active pack is sold in {code}: credits used have no list price to cost them."
            )
        return Report(
            title=f"Promotions ({code})",
            basis=PROMOTIONS_BASIS + _list_price_basis(self.list_price, self.currency),
            tables=[table],
            problems=problems,
        )


PROMOTIONS_BASIS = (
    "Per promo code, in the period (UTC): redemptions are its uses recorded in the period "
    "(used ones, by when the code was taken); credits granted are the promotional grants it made "
    "in the period (a free-credits code's grant references its redemption, a bonus's grant the "
    "purchase that carried the code); credits used are what spends and captures in the period "
    "took from any of its grants (gross: refunds of those spends are not netted out; credits a "
    "user transferred on are no longer the code's); purchases with it are the packs paid in the "
    "period that carried the code, counted and summed gross in this currency only. Cost at list "
    "price is a memo, not an expense: promotional credits have no cost basis. "
)


def _list_price_basis(list_price: ListPrice | None, currency: str) -> str:
    if list_price is None:
        return "No active pack is sold in this currency, so there is no list price."
    return (
        f"Cost at list price = credits used x the cheapest active pack's price per credit in "
        f"{currency.upper()} ({list_price.package}: {list_price.price} for "
        f"{list_price.credits:,} credits), rounded half-even per code; the chart draws each "
        "code's credits granted."
    )


def _row(c: CodeFigures) -> list:
    return [
        c.code,
        c.kind,
        c.redemptions,
        c.granted,
        c.used,
        c.cost,
        c.purchases,
        c.purchase_money,
    ]


def promotions(period: Period, currency: str) -> Promotions:
    in_period = {"gte": period.since, "lt": period.until}

    def between(moment: str) -> Q:
        return Q(**{f"{moment}__{op}": value for op, value in in_period.items()})

    found: dict[int, dict] = {}

    def add(rows, part: str) -> None:
        for row in rows:
            if row["promotion"] is not None:
                found.setdefault(row["promotion"], {})[part] = row["figure"]

    add(
        Redemption.objects.filter(between("created_at"), status=Redemption.Status.USED)
        .values("promotion")
        .annotate(figure=Count("pk"))
        .order_by(),
        "redemptions",
    )
    add(
        _code_grants()
        .filter(between("created_at"))
        .annotate(promotion=_promotion_of("transaction__"))
        .values("promotion")
        .annotate(figure=Sum("amount"))
        .order_by(),
        "granted",
    )
    add(
        Allocation.objects.filter(
            between("transaction__created_at"),
            grant__in=_code_grants(),
            transaction__kind__in=USED_KINDS,
        )
        .annotate(promotion=_promotion_of("grant__transaction__"))
        .values("promotion")
        .annotate(figure=Sum("amount"))
        .order_by(),
        "used",
    )
    paid = (
        pack_sales()
        .filter(between("paid_at"), promotion__isnull=False, currency__iexact=currency)
        .values("promotion")
        .annotate(figure=Count("pk"), money=Sum("amount"))
        .order_by()
    )
    for row in paid:
        found.setdefault(row["promotion"], {}).update(
            purchases=row["figure"], purchase_money=to_minor(row["money"], currency)
        )
    price = list_price(currency)
    kinds = dict(Promotion.Kind.choices)
    codes = []
    for promotion in (
        Promotion.objects.filter(pk__in=found).order_by("code").values("pk", "code", "kind")
    ):
        figures = CodeFigures(promotion["code"], kinds[promotion["kind"]], **found[promotion["pk"]])
        if price is not None:
            figures.cost = price.of(figures.used, currency)
        codes.append(figures)
    return Promotions(period=period, currency=currency, list_price=price, codes=codes)


def list_price(currency: str) -> ListPrice | None:
    """The cheapest active pack's price per credit in `currency` (None if none is sold in it)."""
    per_credit = ExpressionWrapper(
        F("price") / F("credits"), output_field=DecimalField(max_digits=30, decimal_places=12)
    )
    cheapest = (
        CreditPackage.objects.filter(
            kind=CreditPackage.Kind.PACK, is_active=True, currency__iexact=currency, credits__gt=0
        )
        .annotate(per_credit=per_credit)
        .order_by("per_credit", "pk")
        .values("name", "price", "credits")
        .first()
    )
    if cheapest is None:
        return None
    return ListPrice(cheapest["name"], cheapest["price"], cheapest["credits"])


def _code_grants():
    """The promotional grants in users' wallets that billing made for a code."""
    return CreditGrant.objects.filter(
        source=CreditGrant.Source.PROMOTION,
        wallet__kind=Wallet.Kind.USER,
        transaction__kind=Kind.GRANT,
        transaction__reference_type__in=[_type(Redemption), _type(Purchase)],
    )


def _promotion_of(transaction: str):
    """The promotion a grant's transaction (at the lookup path `transaction`) was made for:
    its redemption's, or the purchase's that carried the code."""
    referenced = Cast(OuterRef(f"{transaction}reference_id"), BigIntegerField())
    return Case(
        When(
            **{f"{transaction}reference_type": _type(Redemption)},
            then=Subquery(Redemption.objects.filter(pk=referenced).values("promotion")[:1]),
        ),
        When(
            **{f"{transaction}reference_type": _type(Purchase)},
            then=Subquery(Purchase.objects.filter(pk=referenced).values("promotion")[:1]),
        ),
        output_field=BigIntegerField(),
    )


def _type(model) -> ContentType:
    return ContentType.objects.get_for_model(model)
