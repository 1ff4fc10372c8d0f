"""Demo accounts for `manage.py seed_demo`: known e-mail addresses and passwords, and for the
staff member an authenticator-app secret (staff pages need two-factor)."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from accounts import two_factor
from accounts.models import User


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    name: str
    is_staff: bool = False


DEMO_USERS = [
    DemoUser("admin@creditdesk.test", "creditdesk-admin-demo", "Ada Admin", is_staff=True),
    DemoUser("alice@creditdesk.test", "creditdesk-alice-demo", "Alice Example"),
    DemoUser("bob@creditdesk.test", "creditdesk-bob-demo", "Bob Example"),
]


@dataclass(frozen=True)
class SeededUser:
    demo: DemoUser
    created: bool
    totp_secret: str = ""  # staff only: the authenticator-app secret
    totp_url: str = ""  # the same as an otpauth:// URI (what a QR code holds)


def seed_users() -> list[SeededUser]:
    """Create the demo users that are missing; leave existing ones exactly as they are, except
    that a demo staff member without an authenticator app gets one (staff pages need it).

    Returns each demo user with whether it was created now and, for staff, its TOTP secret.
    """
    seeded = []
    for demo in DEMO_USERS:
        user = User.objects.filter(email__iexact=demo.email).first()
        created = user is None
        if created:
            user = User.objects.create_user(
                email=demo.email,
                password=demo.password,
                name=demo.name,
                is_staff=demo.is_staff,
                is_superuser=demo.is_staff,
            )
        EmailAddress.objects.get_or_create(
            user=user, email=demo.email, defaults={"verified": True, "primary": True}
        )
        totp = _totp_for(user) if demo.is_staff else ("", "")
        seeded.append(SeededUser(demo, created, *totp))
    return seeded


def _totp_for(user: User) -> tuple[str, str]:
    """The user's authenticator-app secret (enrolling one if there is none) and its URI."""
    authenticator = two_factor.totp_of(user)
    if authenticator is None:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
    else:
        adapter = get_mfa_adapter()
        secret = adapter.decrypt(authenticator.data["secret"])
    return secret, get_mfa_adapter().build_totp_url(user, secret)
