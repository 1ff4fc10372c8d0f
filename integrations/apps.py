from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Partner apps"

    def ready(self) -> None:
        from events.dispatch import register_channel
        from events.outbox import register_audience
        from integrations import schema  # noqa: F401  (registers the OpenAPI extension)
        from integrations.services import webhook_deliveries

        register_audience(webhook_deliveries.audience())
        register_channel("integrations: webhooks", webhook_deliveries.deliver)
