from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from events.dispatch import register_channel
        from notifications import audiences, channel

        audiences.register()
        register_channel("e-mail", channel.deliver)
