"""Words for numbers, in what the site and its commands print."""


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 grant`, `2 grants`, `0 grants`; irregular nouns give their plural
    (`counted(n, "discrepancy", "discrepancies")`)."""
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"
