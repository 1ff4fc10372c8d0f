from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    """An amount with its currency code: 9.00 USD (four places for prices per credit)."""
    if amount is None:
        return "—"
    places = 4 if amount != amount.quantize(Decimal("0.01")) else 2
    return f"{amount:,.{places}f} {currency.upper()}".strip()
