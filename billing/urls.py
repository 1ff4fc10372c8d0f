from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.shop, name="shop"),
    path("promo/check/", views.promo_check, name="promo-check"),
    path("promo/redeem/", views.redeem, name="redeem"),
    path("checkout/", views.checkout, name="checkout"),
    path("success/", views.success, name="success"),
    path("success/status/", views.checkout_status, name="checkout-status"),
    path("cancel/", views.cancel, name="cancel"),
    path("purchases/", views.purchases, name="purchases"),
    path("subscription/", views.subscription, name="subscription"),
    path("portal/", views.portal, name="portal"),
]
