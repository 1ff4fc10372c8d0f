"""Demo accounts for `manage.py seed_demo`: known e-mail addresses and passwords, and for the
staff member an authenticator-app secret (staff pages need two-factor)."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission

from accounts import two_factor
from accounts.models import User


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    name: str
    is_staff: bool = False
    is_superuser: bool = False
    permissions: tuple[str, ...] = ()  # "app.codename", for staff who are not superusers
    role: str = "user"


# A second staff member, so the demo can show a large grant asked by the admin and approved by a
# colleague (nobody decides their own request).
CHECKER_PERMISSIONS = (
    "credits.view_wallet",
    "credits.view_approvalrequest",
    "credits.decide_approvalrequest",
    "credits.view_staffaction",
)

DEMO_USERS = [
    DemoUser(
        "admin@creditdesk.test",
        "creditdesk-admin-demo",
        "Ada Admin",
        is_staff=True,
        is_superuser=True,
        role="staff superuser",
    ),
    DemoUser(
        "checker@creditdesk.test",
        "creditdesk-checker-demo",
        "Chris Checker",
        is_staff=True,
        permissions=CHECKER_PERMISSIONS,
        role="staff: approves colleagues' large grants and deductions",
    ),
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
                is_superuser=demo.is_superuser,
            )
            user.user_permissions.set(_permissions(demo.permissions))
        EmailAddress.objects.get_or_create(
            user=user, email=demo.email, defaults={"verified": True, "primary": True}
        )
        totp = _totp_for(user) if demo.is_staff else ("", "")
        seeded.append(SeededUser(demo, created, *totp))
    return seeded


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    wanted = [name.split(".") for name in names]
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in wanted
    ]


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
