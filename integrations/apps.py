from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Partner apps"

    def ready(self) -> None:
        from events.dispatch import register_backlog, register_channel, register_sweep
        from events.outbox import register_audience
        from events.retention import register_keep
        from integrations import schema  # noqa: F401  (registers the OpenAPI extension)
        from integrations.services import webhook_deliveries

        register_audience(webhook_deliveries.audience())
        register_channel("integrations: webhooks", webhook_deliveries.deliver)
        # Retries come due by the clock: the worker's sweep attempts them (and every
        # attempt a crash left behind); /healthz shows how overdue the oldest is.
        register_sweep("webhook deliveries", webhook_deliveries.deliver_due)
        register_backlog("webhook_deliveries", webhook_deliveries.oldest_overdue)
        # A resend of an old event is still trying: pruning it would drop it silently.
        register_keep("webhook deliveries", webhook_deliveries.events_still_delivering)
