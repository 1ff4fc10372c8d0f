"""Whole numbers as people and programs send them: JSON integers to the API, ASCII digits on pages.

Python's int() reads digits of any script ("١٢" is 12), and DRF's and Django's integer fields
also take "12", 12.0 and "12.0". Amounts are money, so each surface reads exactly one spelling
of a number and refuses the rest (400 on the API, the error beside the field on a page).
"""

import re
from decimal import Decimal

from django import forms
from rest_framework import serializers

ASCII_DIGITS = re.compile(r"[0-9]+")
MAX_DIGITS = 30  # more than any amount or id; int() refuses thousands of digits with a ValueError


def is_ascii_digits(text: str) -> bool:
    """Whether `text` is a whole number written in the digits 0 to 9 (for query parameters)."""
    return ASCII_DIGITS.fullmatch(text) is not None


class JsonIntegerField(serializers.IntegerField):
    """An API integer: a JSON integer only, not a string, a float or a boolean."""

    default_error_messages = {
        "invalid": 'A whole number is required, as a JSON integer (12, not "12" or 12.0).'
    }

    def to_internal_value(self, data):
        if type(data) is not int:  # bool is an int subclass: true is not 1
            self.fail("invalid")
        return super().to_internal_value(data)


class DigitsField(forms.IntegerField):
    """A page's whole number: the digits 0 to 9 only (surrounding spaces are ignored)."""

    default_error_messages = {"invalid": "Enter a whole number, using the digits 0 to 9."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if type(value) is int:  # an initial value or a programmatic one
            return value
        text = str(value).strip()
        if not is_ascii_digits(text) or len(text) > MAX_DIGITS:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


ASCII_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class MoneyField(forms.DecimalField):
    """A page's amount of money: digits 0 to 9, and at most two after a point ("12.50")."""

    default_error_messages = {
        "invalid": "Enter an amount such as 12.50, using the digits 0 to 9 and a point."
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = str(value).strip()
        if not ASCII_MONEY.fullmatch(text) or len(text) > MAX_DIGITS:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(text)
