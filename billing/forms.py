from django import forms

from billing.models import Promotion
from billing.services import promotions
from core.fields import DigitsField


class PromoCodeForm(forms.Form):
    code = forms.CharField(label="Promo code", max_length=40)
    package = DigitsField(required=False, widget=forms.HiddenInput)


class CheckoutForm(forms.Form):
    package = DigitsField(widget=forms.HiddenInput)
    promo_code = forms.CharField(required=False, max_length=40)


class PromotionAdminForm(forms.ModelForm):
    """The admin's promo-code form: the service's rules on its terms, each refusal beside its
    field (billing.services.promotions.terms_problems)."""

    class Meta:
        model = Promotion
        fields = ["code", "kind", "value", "valid_from", "valid_until", "max_redemptions"]
        fields += ["max_per_user", "packages", "credit_lifetime_days", "is_active"]
        # Staff type amounts too: the digits 0 to 9 only, as on every form of the site.
        field_classes = {
            name: DigitsField
            for name in ("value", "max_redemptions", "max_per_user", "credit_lifetime_days")
        }

    def clean(self):
        cleaned = super().clean()
        terms = {
            name: cleaned.get(name, getattr(self.instance, name))
            for name in ("code", "kind", "value", "valid_from", "valid_until", "max_per_user")
        }
        candidate = Promotion(pk=self.instance.pk, **terms)
        for field, problem in promotions.terms_problems(candidate).items():
            if field not in self.errors:
                self.add_error(field, problem)
        return cleaned
