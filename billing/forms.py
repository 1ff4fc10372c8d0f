from django import forms


class PromoCodeForm(forms.Form):
    code = forms.CharField(label="Promo code", max_length=40)
    package = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CheckoutForm(forms.Form):
    package = forms.IntegerField(widget=forms.HiddenInput)
    promo_code = forms.CharField(required=False, max_length=40)
