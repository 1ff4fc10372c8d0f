from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from djstripe.models import WebhookEndpoint

ENDPOINT_ID = "creditdesk_webhook"


class Command(BaseCommand):
    help = (
        "Record the Stripe webhook endpoint (no call to Stripe) and print the URL to register in "
        "Stripe. Run it once to get the URL, register it, then set STRIPE_WEBHOOK_SECRET to the "
        "signing secret Stripe shows and run it again. The URL never changes."
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

    def handle(self, *args, base_url: str, if_configured: bool, **options):
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
        endpoint, created = WebhookEndpoint.objects.update_or_create(
            id=ENDPOINT_ID,
            defaults={
                "secret": secret,
                "url": base_url,
                "enabled_events": ["*"],
                "status": "enabled",
                "livemode": settings.STRIPE_LIVE_MODE,
                "api_version": settings.STRIPE_API_VERSION,
            },
        )
        path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
        state = "created" if created else "updated"
        self.stdout.write(f"Webhook endpoint {state}. Register this URL in Stripe:")
        self.stdout.write(f"  {base_url.rstrip('/')}{path}")
        if not secret:
            self.stdout.write(
                "No STRIPE_WEBHOOK_SECRET yet: events are refused until you set it to the signing "
                "secret Stripe shows for this URL and run this command again."
            )
