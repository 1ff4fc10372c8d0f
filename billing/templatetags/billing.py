from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    """An amount with its currency code: 9.00 USD."""
    return _format(amount, currency, places=2)


@register.filter
def per_credit(amount: Decimal | None, currency: str = "") -> str:
    """A price per credit, always to four places so prices compare at a glance: 0.0083 USD."""
    return _format(amount, currency, places=4)


def _format(amount: Decimal | None, currency: str, *, places: int) -> str:
    if amount is None:
        return "—"
    return f"{amount:,.{places}f} {currency.upper()}".strip()
