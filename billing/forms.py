from django import forms

from core.fields import DigitsField


class PromoCodeForm(forms.Form):
    code = forms.CharField(label="Promo code", max_length=40)
    package = DigitsField(required=False, widget=forms.HiddenInput)


class CheckoutForm(forms.Form):
    package = DigitsField(widget=forms.HiddenInput)
    promo_code = forms.CharField(required=False, max_length=40)
