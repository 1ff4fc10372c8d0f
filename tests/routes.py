"""Every URL pattern of the site as an address a test can request, and a small world of objects
for the addresses that name one (a transaction, a dispute, an admin change page).

Tests that must hold for every URL (no private response is cached, a GET writes nothing, the
browser finds no policy violation) walk `routes()`, so a new page is covered the day it is added;
an argument name the samples do not know fails `test_every_route_has_an_address`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

# `<int:name>` in a path() pattern; `(?P<name>...)` in a re_path() pattern.
PATH_ARGUMENT = re.compile(r"(?<!\?P)<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")
WORDS = re.compile(r"\w+(\|\w+)*")


@dataclass(frozen=True)
class Route:
    pattern: str  # as declared, prefixes joined: "dashboard/transactions/<int:transaction_id>/"
    name: str  # "credits:transaction"; "" for an unnamed pattern
    callback: Callable = field(compare=False, repr=False)

    @property
    def arguments(self) -> list[str]:
        return [m["name"] for m in PATH_ARGUMENT.finditer(self.pattern)] + [
            m["name"] for m in REGEX_GROUP.finditer(self.pattern)
        ]

    @property
    def admin_model(self) -> tuple[str, str] | None:
        """(app_label, model_name) of an admin page under /admin/<app>/<model>/."""
        match = re.match(r"admin/(\w+)/(\w+)/", self.pattern)
        return (match[1], match[2]) if match else None

    def address(self, sample: Callable[["Route", str], str]) -> str:
        """The path ("/dashboard/transactions/12/") with each argument from `sample`."""
        path = PATH_ARGUMENT.sub(lambda m: sample(self, m["name"]), self.pattern)

        def group(match):
            if WORDS.fullmatch(match["body"]):  # a choice of words: take the first
                return match["body"].split("|")[0]
            return sample(self, match["name"])

        path = REGEX_GROUP.sub(group, path).replace("^", "").replace("$", "")
        return "/" + re.sub(r"\\(\W)", r"\1", path)


def routes() -> list[Route]:
    """Every URL pattern of the site, in resolution order; a pattern that an earlier one of the
    same path shadows (ours mounted over a library's, as for TOTP activation) is left out."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(n for n in (namespace, pattern.namespace) if n)
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = ":".join(n for n in (namespace, pattern.name) if n) if pattern.name else ""
                yield Route(prefix + str(pattern.pattern), name, pattern.callback)

    found: dict[str, Route] = {}
    for route in walk(get_resolver().url_patterns, "", ""):
        found.setdefault(route.pattern, route)
    return list(found.values())


class World:
    """One user's wallet with a spend, a hold, a dispute, a delivered job milestone and a pending
    checkout: the objects the addresses of `routes()` name, and the query strings that make a
    page do its real work (the checkout a cancel link names, the wallets an admin operation is
    for)."""

    def __init__(self, user):
        from billing.models import CreditPackage, Promotion, Purchase
        from credits import services
        from disputes import services as disputes
        from jobs import services as jobs
        from tests.credits.conftest import ACTOR, fund, key
        from tests.jobs.conftest import delivered, open_job

        self.user = user
        wallet = user.wallet
        fund(wallet, 1000)
        self.spend = services.spend(
            wallet=wallet, amount=50, description="Logo", actor=ACTOR, idempotency_key=key()
        )
        self.hold = services.hold(
            wallet=wallet, amount=30, description="Site", actor=ACTOR, idempotency_key=key()
        ).hold
        self.dispute = disputes.open_dispute(
            user=user, txn=self.spend, reason="not_delivered", description="Nothing.", amount=50
        )
        self.undisputed = services.spend(
            wallet=wallet, amount=20, description="Icons", actor=ACTOR, idempotency_key=key()
        )
        package = CreditPackage.objects.create(
            name="Standard", credits=1000, price="10.00", stripe_price_id="price_standard"
        )
        Promotion.objects.create(code="SPRING", kind=Promotion.Kind.BONUS_FIXED, value=200)
        self.purchase = Purchase.objects.create(
            user=user,
            package=package,
            amount=package.price,
            currency=package.currency,
            credits=package.credits,
            stripe_checkout_session_id="cs_world",
        )
        from djstripe.models import WebhookEndpoint

        self.webhook_endpoint = WebhookEndpoint.objects.create(
            id="we_world",
            url="https://credits.example.com/stripe/webhook/",
            secret="whsec_world",
            enabled_events=["*"],
        )
        from accounts import services as accounts
        from credits.services import staff as staff_powers
        from tests.factories import StaffFactory

        self.api_token = accounts.create_api_token(user=user, name="World")
        # A colleague's large grant to this wallet, waiting for approval.
        self.approval = staff_powers.staff_grant(
            wallet=wallet, amount=5000, reason="Outage", staff=StaffFactory(), idempotency_key=key()
        ).approval
        # A job of the user's: a folder and a file in it (the Files tab's pages), and its first
        # milestone delivered and in review (it may be accepted, or disputed).
        from django.core.files.uploadedfile import SimpleUploadedFile

        self.job = open_job(user, 50, 50)
        self.folder = jobs.create_folder(job=self.job, by=user, name="Assets")
        self.file = jobs.upload(
            job=self.job,
            by=user,
            upload=SimpleUploadedFile("brief.txt", b"A round logo."),
            folder=self.folder,
        )
        self.milestone = delivered(self.job, StaffFactory())
        # A partner app the user develops (the Developers pages), with an API key.
        from integrations.services import apps as partner_apps
        from integrations.services import keys as partner_keys

        self.partner_app, _ = partner_apps.register(
            owner=user,
            name="World app",
            homepage="https://world.example.com",
            redirect_uris="https://world.example.com/callback",
            allowed_scopes="openid credits:read",
        )
        self.app_key = partner_keys.create(
            app=self.partner_app, name="World key", scope_names=["credits:read"], by=user
        ).key
        # A webhook endpoint of the app, with one delivery waiting (never attempted: the test's
        # transaction does not commit).
        from events.models import Event
        from events.outbox import announce
        from integrations.services import webhook_deliveries
        from integrations.services import webhooks as partner_webhooks

        self.webhook = partner_webhooks.create(
            app=self.partner_app, url="https://world.example.com/hooks", event_types=["hold.placed"]
        ).endpoint
        announce("hold.placed", data={}, user_id=user.pk, app_id=self.partner_app.pk)
        self.webhook_delivery = webhook_deliveries.queue(
            endpoint=self.webhook, event=Event.objects.filter(type="hold.placed").latest("id")
        )
        # For Stripe (a FakeStripe), the purchase's Checkout Session is open.
        self.stripe_objects = [{"id": "cs_world", "object": "checkout.session", "status": "open"}]

    def address(self, route: Route) -> str:
        """The route's path with this world's arguments and query string."""
        path = route.address(self.sample)
        session = self.purchase.stripe_checkout_session_id
        queries = {
            "billing:cancel": f"purchase={self.purchase.pk}",
            "billing:success": f"session_id={session}",
            "billing:checkout-status": f"session_id={session}",
            "admin:credits_wallet_operation": f"ids={self.user.wallet.pk}",
            "admin:integrations_partnerapp_operation": f"ids={self.partner_app.pk}",
            "credits:statement": "from=2000-01-01&to=2000-12-31",
            "api-schema": "format=json",
        }
        return f"{path}?{queries[route.name]}" if route.name in queries else path

    def sample(self, route: Route, name: str) -> str:
        """A value for argument `name` of `route`: an object of this world where one fits."""
        from django.apps import apps

        values = {
            "transaction_id": self.spend.pk,
            "dispute_id": self.dispute.pk,
            "hold_id": self.hold.pk,
            "job_id": self.milestone.job_id,
            "milestone_id": self.milestone.pk,
            "wallet_id": self.user.wallet.pk,
            "purchase_id": self.purchase.pk,
            "approval_id": self.approval.pk,
            "section": "basic",  # jobs/<job_id>/edit/<section>/
            "token_id": self.api_token.token.pk,
            "folder_id": self.folder.pk,
            "file_id": self.file.pk,
            "app_id": self.partner_app.pk,
            "key_id": self.app_key.pk,
            "endpoint_id": self.webhook.pk,
            "delivery_id": self.webhook_delivery.pk,
            "operation": "approve",  # admin/integrations/partnerapp/operation/<operation>/
            "id": self.user.pk,  # the admin's password change page: admin/accounts/user/<id>/
            "name": "grant",  # admin/credits/wallet/operation/<name>/
            "step": "resolve",  # admin/disputes/dispute/<id>/step/<step>/
            "action_name": "_sync_all_instances",  # dj-stripe's admin/djstripe/<model>/action/
            "model_name": route.admin_model[1] if route.admin_model else "",
            "uuid": self.webhook_endpoint.djstripe_uuid,
            "content_type_id": ContentType.objects.get_for_model(self.user).pk,
            "key": "no-such-key",
            "client_id": "no-such-app",  # o/apps/<client_id>/logo
            "uidb36": "0",
            "url": "no-such-page/",
            "path": "no-such-endpoint",
        }
        if name == "name" and route.name == "admin:jobs_milestone_override":
            return "force_accept"  # admin/jobs/milestone/override/<name>/
        if name == "transaction_id" and route.name == "disputes:open":
            return str(self.undisputed.pk)
        if name == "object_id" and route.admin_model:
            model = apps.get_model(*route.admin_model)
            first = model._default_manager.order_by("pk").first()
            return str(first.pk if first else 1)
        if name == "object_id":  # admin/r/<content_type_id>/<object_id>/
            return str(self.user.pk)
        if name not in values:
            raise KeyError(f"no sample value for <{name}> in {route.pattern!r}")
        return str(values[name])
