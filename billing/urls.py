from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.shop, name="shop"),
    # One promo box for both kinds of code; promo/redeem/ is its former free-credits address.
    path("promo/", views.promo_code, name="promo-code"),
    path("promo/check/", views.promo_code, name="promo-check"),
    path("promo/redeem/", views.promo_code, name="redeem"),
    path("checkout/", views.checkout, name="checkout"),
    path("success/", views.success, name="success"),
    path("success/status/", views.checkout_status, name="checkout-status"),
    path("cancel/", views.cancel, name="cancel"),
    path("purchases/", views.purchases, name="purchases"),
    path("subscription/", views.subscription, name="subscription"),
    path("portal/", views.portal, name="portal"),
]
