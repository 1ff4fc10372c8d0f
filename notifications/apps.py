from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from events.dispatch import register_channel
        from events.retention import register_keep
        from notifications import audiences, channel, selectors

        audiences.register()
        register_channel("e-mail", channel.deliver)
        register_keep("unsent e-mails", selectors.events_with_unsent_notices)
