"""Every e-mail CreditDesk sends: each link in it is absolute and opens a working page.

The e-mails are made through their real doors (the dispute services, allauth's pages, the
admin's password reset); the completeness checks below fail when a new kind of e-mail appears
(a new dispute notice, an allauth e-mail switched on) without being sent here.
"""

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
import time_machine
from allauth.account import app_settings as account_settings
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.adapter import AccountAdapter
from credits import services as credits
from disputes import services as disputes
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, open_job
from tests.processes import PROJECT_DIR

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s<>\"')]+|(?<![\w/])/[\w\-./?=&%]+")
PASSWORD = "a-long-enough-password-42"

# allauth e-mails CreditDesk's settings can send (template prefixes), each sent below.
ALLAUTH_EMAILS = {
    "account/email/email_confirmation_signup",
    "account/email/email_confirmation",
    "account/email/account_already_exists",
    "account/email/password_reset_key",
    "account/email/unknown_account",
}


@pytest.fixture
def sent_templates(monkeypatch):
    """The allauth templates rendered, in order (allauth's subjects are not unique enough)."""
    rendered = []
    original = AccountAdapter.render_mail

    def render_mail(self, template_prefix, email, context, headers=None):
        rendered.append(template_prefix)
        return original(self, template_prefix, email, context, headers)

    monkeypatch.setattr(AccountAdapter, "render_mail", render_mail)
    return rendered


def dispute_notices() -> set[str]:
    """The subjects of every dispute notice, read from the service that sends them."""
    source = (PROJECT_DIR / "disputes" / "services.py").read_text()
    return set(re.findall(r'_tell_(?:user|assignee)\(\s*dispute,\s*"([^"]+)"', source))


def send_every_dispute_notice(user, staff) -> None:
    charge = credits.spend(
        wallet=user.wallet, amount=80, description="Logo job", actor=ACTOR, idempotency_key=key()
    )
    dispute = disputes.open_dispute(
        user=user, txn=charge, reason="not_delivered", description="Never came.", amount=50
    )
    disputes.assign(dispute=dispute, assignee=staff, by=staff)
    disputes.post_message(dispute=dispute, author=staff, body="Looking into it.")
    disputes.request_information(dispute=dispute, staff=staff, question="Which file?")
    disputes.post_message(dispute=dispute, author=user, body="The logo.")
    disputes.reject(dispute=dispute, staff=staff, reason="It was delivered.")
    disputes.escalate(dispute=dispute, user=user, reason="It was not.")
    senior = StaffFactory(email="senior@example.com", permissions=["disputes.handle_escalated"])
    disputes.resolve(dispute=dispute, staff=senior, amount=20, note="Partly delivered.")
    unanswered_milestone_dispute(staff)


def unanswered_milestone_dispute(staff) -> None:
    """A job's milestone disputed, a question left unanswered, closed by its deadline."""
    client = UserFactory(email="client@example.com")
    deliverer = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    milestone = delivered(open_job(client, 600), deliverer)
    dispute = disputes.open_milestone_dispute(
        user=client, milestone=milestone, reason="poor_quality", description="Thin.", amount=600
    )
    disputes.assign(dispute=dispute, assignee=staff, by=staff)
    disputes.request_information(dispute=dispute, staff=staff, question="Which pages?")
    later = timezone.now() + timedelta(days=settings.DISPUTES_AWAITING_USER_DAYS, hours=1)
    with time_machine.travel(later):
        call_command("disputes_deadlines", stdout=StringIO(), stderr=StringIO())


def send_every_account_email(user, staff) -> None:
    visitor = Client()
    signup = {"password1": PASSWORD, "password2": PASSWORD}
    visitor.post(reverse("account_signup"), {"email": "new@example.com", **signup})
    Client().post(reverse("account_signup"), {"email": user.email, **signup})
    Client().post(reverse("account_reset_password"), {"email": user.email})
    Client().post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    member = Client()
    member.force_login(user)
    member.post(reverse("account_email"), {"action_add": "", "email": "second@example.com"})
    # Staff send a reset from the admin (in the admin's own request).
    admin = sign_in_staff(Client(), staff)
    admin.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "send_password_reset", "_selected_action": [user.pk]},
    )


def opens(url: str, recipient) -> int:
    """The final status of opening the link: anonymously, then, if it asks to sign in, as the
    e-mail's recipient (staff with two-factor)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    answer = Client().get(path, follow=True)
    if answer.redirect_chain and answer.redirect_chain[-1][0].startswith(reverse("account_login")):
        client = Client()
        if recipient.is_staff:
            sign_in_staff(client, recipient)
        else:
            client.force_login(recipient)
        answer = client.get(path, follow=True)
    return answer.status_code


def test_every_email_links_only_to_absolute_addresses_that_open(
    mailoutbox, sent_templates, django_capture_on_commit_callbacks, django_user_model
):
    user = UserFactory(email="alice@example.com")
    fund(user.wallet, 500)
    staff = StaffFactory(email="staff@example.com", permissions=["disputes.view_dispute"])
    staff.set_password(PASSWORD)
    staff.save()

    with django_capture_on_commit_callbacks(execute=True):
        send_every_dispute_notice(user, staff)
    send_every_account_email(user, staff)

    notices = {mail.subject.split(": ", 1)[1] for mail in mailoutbox if "Dispute #" in mail.subject}
    assert notices == dispute_notices()
    assert set(sent_templates) == ALLAUTH_EMAILS
    problems = []
    for mail in mailoutbox:
        links = LINK.findall(mail.body)
        if not links:
            problems.append(f"{mail.subject}: no link")
        recipient = django_user_model.objects.filter(email__in=mail.to).first() or user
        for link in links:
            if not link.startswith(settings.SITE_URL + "/"):
                problems.append(f"{mail.subject}: {link} is not on SITE_URL")
            elif (status := opens(link, recipient)) != 200:
                problems.append(f"{mail.subject}: {link} answers {status}")
    assert problems == []


def test_allauths_emails_that_could_be_switched_on_are_off():
    """Each would be a new e-mail this suite does not check yet: add it above first."""
    assert account_settings.EMAIL_NOTIFICATIONS is False
    assert account_settings.LOGIN_BY_CODE_ENABLED is False
    assert account_settings.EMAIL_VERIFICATION_BY_CODE_ENABLED is False
    assert account_settings.PASSWORD_RESET_BY_CODE_ENABLED is False


def test_without_site_url_a_link_takes_the_address_of_the_request_it_is_sent_in(
    settings, mailoutbox, client
):
    settings.SITE_URL = ""
    settings.ALLOWED_HOSTS = ["desk.example.org"]
    user = UserFactory(email="alice@example.com")
    EmailAddress.objects.filter(user=user).update(verified=True)
    client.force_login(user)

    client.post(
        reverse("account_email"),
        {"action_add": "", "email": "second@example.com"},
        HTTP_HOST="desk.example.org",
    )

    assert "http://desk.example.org/accounts/" in mailoutbox[-1].body


def test_with_site_url_a_link_ignores_the_host_the_client_sent(settings, mailoutbox, client):
    settings.SITE_URL = "https://credits.example.com"
    settings.ALLOWED_HOSTS = ["evil.example.org"]
    UserFactory(email="alice@example.com")

    client.post(
        reverse("account_reset_password"),
        {"email": "alice@example.com"},
        HTTP_HOST="evil.example.org",
    )

    assert "https://credits.example.com/accounts/password/reset/key/" in mailoutbox[-1].body
    assert "evil.example.org" not in mailoutbox[-1].body
