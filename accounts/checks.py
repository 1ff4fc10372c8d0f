from django.conf import settings
from django.core.checks import Warning, register

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@register(deploy=True)
def check_email_is_delivered(app_configs, **kwargs):
    """Sign-up verification and password resets are e-mails: they must reach people."""
    if settings.EMAIL_BACKEND == CONSOLE_BACKEND:
        return [
            Warning(
                "E-mail is written to the console, so verification and password-reset "
                "messages never reach anyone.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587",
                id="accounts.W001",
            )
        ]
    return []
