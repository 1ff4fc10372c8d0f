from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from djstripe.models import WebhookEndpoint

ENDPOINT_ID = "creditdesk_webhook"


def _absolute_base(base_url: str) -> str:
    """The site's address, refused unless absolute: a relative one would be recorded as the
    endpoint's URL, which Stripe cannot call."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(
            "The webhook URL needs the site's address: set SITE_URL or give --base-url "
            "(http:// or https:// and a host, e.g. https://credits.example.com)"
        )
    return base_url.strip().rstrip("/")


class Command(BaseCommand):
    help = (
        "Record the Stripe webhook endpoint (no call to Stripe) and print the URL to register in "
        "Stripe. Run it once to get the URL, register it, then set STRIPE_WEBHOOK_SECRET to the "
        "signing secret Stripe shows and run it again. The URL never changes. --remove deletes "
        "the endpoint this command recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default=settings.SITE_URL, help="The site's public address (SITE_URL)."
        )
        parser.add_argument(
            "--if-configured",
            action="store_true",
            help="Record nothing while STRIPE_WEBHOOK_SECRET is unset (make run's demo).",
        )
        parser.add_argument(
            "--remove",
            action="store_true",
            help="Delete the endpoint this command recorded (events to its URL are then refused).",
        )

    def handle(self, *args, base_url: str, if_configured: bool, remove: bool, **options):
        if remove:
            self._remove()
            return
        secret = settings.STRIPE_WEBHOOK_SECRET
        if if_configured and not secret:
            # An endpoint without a secret refuses every event and makes every start warn
            # (djstripe.W005), so a demo without Stripe records none.
            self.stdout.write("Stripe webhooks are not configured (no STRIPE_WEBHOOK_SECRET).")
            return
        if secret and not secret.startswith("whsec_"):
            raise CommandError(
                "STRIPE_WEBHOOK_SECRET must be the endpoint's whsec_… signing secret"
            )
        base_url = _absolute_base(base_url)
        endpoint = WebhookEndpoint.objects.filter(id=ENDPOINT_ID).first()
        created = endpoint is None
        if created:
            endpoint = WebhookEndpoint(id=ENDPOINT_ID)
        path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
        endpoint.secret = secret
        endpoint.url = base_url + path
        endpoint.enabled_events = ["*"]
        endpoint.status = "enabled"
        endpoint.livemode = settings.STRIPE_LIVE_MODE
        endpoint.api_version = settings.STRIPE_API_VERSION
        endpoint.save()
        state = "created" if created else "updated"
        self.stdout.write(f"Webhook endpoint {state}. Register this URL in Stripe:")
        self.stdout.write(f"  {endpoint.url}")
        if not secret:
            self.stdout.write(
                "No STRIPE_WEBHOOK_SECRET yet: events are refused, and manage.py commands warn "
                "(djstripe.W005), until you set it to the signing secret Stripe shows for this "
                "URL and run this command again (or remove the endpoint: --remove)."
            )

    def _remove(self) -> None:
        endpoint = WebhookEndpoint.objects.filter(id=ENDPOINT_ID).first()
        if endpoint is None:
            self.stdout.write("No webhook endpoint recorded by this command: nothing removed.")
            return
        endpoint.delete()
        self.stdout.write(
            f"Webhook endpoint removed ({endpoint.url or 'no URL'}); "
            "delete it in Stripe's dashboard too."
        )
