"""How every number reaches a person: credits with thousands separators (1,000,001,420), money
with its currency's symbol where it has one ($5.00, €5.00, CHF 5.00), as English (CLDR "en")
writes them. Pages use it through the `figure` template filter, the admin and e-mails through
these functions, so no page formats a number its own way."""

from decimal import Decimal

# symbol (or the code and a space), decimal places; CLDR "en". A currency not listed shows its
# code and two places.
CURRENCIES: dict[str, tuple[str, int]] = {
    "usd": ("$", 2),
    "eur": ("€", 2),
    "gbp": ("£", 2),
    "jpy": ("¥", 0),
    "cad": ("CA$", 2),
    "aud": ("A$", 2),
    "chf": ("CHF ", 2),
    "sek": ("SEK ", 2),
    "nok": ("NOK ", 2),
    "dkk": ("DKK ", 2),
}
NOTHING = "—"


def credits(value: int | None, *, signed: bool = False) -> str:
    """An amount of credits or any count: 1,000,001,420; signed: +1,200 or -50."""
    if value is None:
        return NOTHING
    return f"{int(value):+,}" if signed else f"{int(value):,}"


def money(amount: Decimal | int | None, currency: str) -> str:
    """An amount of money: $1,234.50, -€5.00, ¥500, CHF 5.00. The currency's places, or more
    when the amount has them (a price per credit: $0.0083), never trailing zeros beyond them."""
    if amount is None:
        return NOTHING
    symbol, places = CURRENCIES.get(currency.lower(), (f"{currency.upper()} ", 2))
    amount = Decimal(amount)
    exponent = amount.normalize().as_tuple().exponent
    places = max(places, -exponent if isinstance(exponent, int) else 0)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.{places}f}"
