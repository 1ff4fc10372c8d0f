"""The admin front page's overview: today's sales, the deferred revenue now, open disputes and
webhooks that failed, each for the staff allowed to see it and linking to where they act on it.

Money is for staff with the analytics permission; each count for staff who may view its rows.
"""

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from analytics import money
from analytics.admin import PERMISSION
from billing.models import SubscriptionInvoice
from core import figures
from disputes.models import Dispute
from integrations.models import WebhookDelivery


@dataclass
class Line:
    label: str
    value: str
    link: str


def overview(user) -> list[Line]:
    """What the front page shows `user` (nothing they may not see)."""
    lines: list[Line] = []
    if user.has_perm(PERMISSION):
        lines += _money_lines()
    if user.has_perm("disputes.view_dispute"):
        open_disputes = Dispute.objects.filter(status__in=Dispute.ACTIVE).count()
        lines.append(
            Line(
                "Open disputes", f"{open_disputes:,}", reverse("admin:disputes_dispute_changelist")
            )
        )
    if user.has_perm("integrations.view_webhookdelivery"):
        failing = WebhookDelivery.Status.FAILED, WebhookDelivery.Status.ABANDONED
        count = WebhookDelivery.objects.filter(status__in=failing).count()
        lines.append(
            Line(
                "Webhook deliveries failing or abandoned",
                f"{count:,}",
                reverse("admin:integrations_webhookdelivery_changelist"),
            )
        )
    if user.has_perm("djstripe.view_webhookeventtrigger"):
        count = WebhookEventTrigger.objects.filter(valid=True, processed=False).count()
        lines.append(
            Line(
                "Stripe webhooks not processed",
                f"{count:,}",
                reverse("admin:djstripe_webhookeventtrigger_changelist"),
            )
        )
    return lines


def _money_lines() -> list[Line]:
    """Per currency: what sold today (UTC) and the deferred revenue now."""
    now = timezone.now()
    today = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    sold: dict[str, Decimal] = {}
    for rows in (
        money.pack_sales().filter(paid_at__gte=today),
        SubscriptionInvoice.objects.filter(created_at__gte=today),
    ):
        for row in rows.filter(~Q(currency="")).values("currency").annotate(total=Sum("amount")):
            code = row["currency"].lower()
            sold[code] = sold.get(code, Decimal(0)) + row["total"]
    lines = []
    revenue = reverse("admin:analytics_revenue_changelist")
    deferred = reverse("admin:analytics_deferredrevenue_changelist")
    for code in money.currencies():
        (figure,) = money.liabilities_at([now], code)
        lines.append(
            Line(f"Sales today ({code.upper()})", _money(sold.get(code, 0), code), revenue)
        )
        lines.append(
            Line(f"Deferred revenue now ({code.upper()})", _money(figure.money, code), deferred)
        )
    return lines


def _money(amount, currency: str) -> str:
    return figures.money(money.to_minor(amount, currency), currency)
