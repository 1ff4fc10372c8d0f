"""Demo accounts for `manage.py seed_demo`: known e-mail addresses and passwords."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress

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


def seed_users() -> list[tuple[DemoUser, bool]]:
    """Create the demo users that are missing; leave existing ones exactly as they are.

    Returns each demo user with whether it was created now.
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
        seeded.append((demo, created))
    return seeded
