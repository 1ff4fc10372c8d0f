"""The admin's index and side bar: CreditDesk's own sections first, then the other apps', then
dj-stripe's ~45 synced models as one "Stripe (synced data)" section, last and cut to the few
staff look at (the section's own page, /admin/djstripe/, still lists them all)."""

from collections.abc import Callable

from django.conf import settings

STRIPE_APP = "djstripe"
STRIPE_SECTION = "Stripe (synced data)"
# What staff open when a payment needs a look; the rest is reachable from the section's page.
STRIPE_ON_INDEX = {
    "Customer",
    "Charge",
    "PaymentIntent",
    "Refund",
    "Dispute",
    "Subscription",
    "Invoice",
    "Event",
    "WebhookEndpoint",
}


def grouped(site_app_list: Callable) -> Callable:
    """Wrap an AdminSite's `get_app_list` (the index, the side bar and each app's page)."""

    def get_app_list(request, app_label=None):
        apps = site_app_list(request, app_label)
        for app in apps:
            if app["app_label"] == STRIPE_APP:
                app["name"] = STRIPE_SECTION
                if app_label is None:
                    app["models"] = [
                        m for m in app["models"] if m["object_name"] in STRIPE_ON_INDEX
                    ]
        return sorted(apps, key=_place)

    return get_app_list


def _place(app: dict) -> tuple[int, int]:
    own = settings.LOCAL_APPS
    if app["app_label"] in own:
        return (0, own.index(app["app_label"]))
    return (2, 0) if app["app_label"] == STRIPE_APP else (1, 0)
