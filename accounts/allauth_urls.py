"""allauth pages of our own, mounted before allauth's at the same addresses and names."""

from django.urls import path

from accounts.views import activate_totp

urlpatterns = [
    # allauth's TOTP activation, which then counts as this session's second factor (for staff).
    path("2fa/totp/activate/", activate_totp, name="mfa_activate_totp"),
]
