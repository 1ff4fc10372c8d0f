"""Sending e-mail in the background, and never for a change that rolled back."""

from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django_tasks import task


@task()
def send_email(*, to: list[str], subject: str, body: str) -> None:
    send_mail(
        subject=f"[CreditDesk] {subject}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=to,
    )


def send_after_commit(*, to: list[str], subject: str, body: str) -> None:
    """Queue an e-mail once the current transaction commits (at once if there is none)."""
    recipients = [address for address in to if address]
    if recipients:
        transaction.on_commit(
            partial(send_email.enqueue, to=recipients, subject=subject, body=body)
        )
