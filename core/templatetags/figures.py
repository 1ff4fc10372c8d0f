"""`{{ value|figure }}`: the one filter every template shows a number through (core/figures.py).

{{ wallet.balance|figure }}                   1,000,001,420   credits, counts
{{ entry.amount|figure:"+" }}                 +1,200 / -50    a movement, always signed
{{ purchase.amount|figure:purchase.currency }}   $10.00, €0.0083, ¥500   money
"""

from django import template

from core import figures

register = template.Library()


@register.filter
def figure(value, spec: str = "") -> str:
    if value is None or value == "":
        return figures.NOTHING
    if not spec:
        return figures.credits(value)
    if spec == "+":
        return figures.credits(value, signed=True)
    return figures.money(value, spec)
