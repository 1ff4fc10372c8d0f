"""Nobody raises their own powers in the admin: only superusers change is_staff, is_superuser,
groups and permissions (never their own), manage groups, or manage other staff accounts."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.clients import api_token, enrol_two_factor, sign_in_staff
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.pages import page

pytestmark = pytest.mark.django_db

USER_ADMIN_PERMISSIONS = [
    "accounts.view_user",
    "accounts.change_user",
    "accounts.delete_user",
    "auth.view_group",
    "auth.add_group",
    "auth.change_group",
    "mfa.view_authenticator",
    "mfa.delete_authenticator",
]


def permissions(*names: str) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


@pytest.fixture
def user_admin(client):
    """A staff member (not a superuser) whose group lets them administer users and groups."""
    group = Group.objects.create(name="User administrators")
    group.permissions.set(permissions(*USER_ADMIN_PERMISSIONS))
    staff = StaffFactory(is_superuser=False)
    staff.groups.add(group)
    sign_in_staff(client, staff)
    return staff


def powers(user) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (
        user.is_staff,
        user.is_superuser,
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
        sorted(user.get_all_permissions()),
    )


def everything(user, *, group: Group) -> dict:
    """A change-form POST that asks for every power there is."""
    return {
        "name": user.name,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [group.pk],
        "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
        "_save": "Save",
    }


def test_a_user_administrator_cannot_raise_their_own_powers_by_any_admin_post(client, user_admin):
    before = powers(user_admin)
    group = user_admin.groups.get()
    others = Group.objects.create(name="Finance")
    all_permissions = list(Permission.objects.values_list("pk", flat=True))

    own_change = reverse("admin:accounts_user_change", args=[user_admin.pk])
    client.post(own_change, everything(user_admin, group=others))
    group_change = reverse("admin:auth_group_change", args=[group.pk])
    refused = [
        client.post(group_change, {"name": group.name, "permissions": all_permissions}),
        client.post(
            reverse("admin:auth_group_add"), {"name": "Everything", "permissions": all_permissions}
        ),
        client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}),
    ]

    assert [response.status_code for response in refused] == [403, 403, 403]
    assert powers(user_admin) == before
    assert set(group.permissions.all()) == set(permissions(*USER_ADMIN_PERMISSIONS))
    assert not Group.objects.filter(name="Everything").exists()


def test_a_user_administrator_sees_their_own_powers_read_only(client, user_admin):
    form = page(client.get(reverse("admin:accounts_user_change", args=[user_admin.pk])))

    for field in ["is_staff", "is_superuser", "groups", "user_permissions"]:
        assert form.find(attrs={"name": field}) is None, field
    assert form.find(attrs={"name": "name"}) is not None


def test_a_user_administrator_cannot_give_powers_to_another_account(client, user_admin):
    accomplice = UserFactory()
    before = powers(accomplice)

    response = client.post(
        reverse("admin:accounts_user_change", args=[accomplice.pk]),
        everything(accomplice, group=user_admin.groups.get()),
    )

    assert response.status_code == 302  # the name and status were saved; the powers were not
    assert powers(accomplice) == before


def test_a_user_administrator_cannot_take_over_a_superuser(client, user_admin):
    superuser = StaffFactory()
    enrol_two_factor(superuser)
    token = api_token(superuser)
    password_change = reverse("admin:auth_user_password_change", args=[superuser.pk])
    attempts = [
        client.post(
            password_change,
            {"usable_password": "true", "password1": "x-Taken0ver!", "password2": "x-Taken0ver!"},
        ),
        client.post(
            reverse("admin:accounts_user_change", args=[superuser.pk]),
            {"name": "x", "_save": "Save"},
        ),
        client.post(reverse("admin:accounts_user_delete", args=[superuser.pk]), {"post": "yes"}),
        client.post(
            reverse(
                "admin:mfa_authenticator_delete",
                args=[Authenticator.objects.get(user=superuser).pk],
            ),
            {"post": "yes"},
        ),
    ]

    assert [response.status_code for response in attempts] == [403, 403, 403, 403]
    superuser.refresh_from_db()
    assert superuser.check_password(DEFAULT_PASSWORD)
    assert Authenticator.objects.filter(user=superuser).exists()
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_nobody_sees_a_totp_secret_in_the_admin(client):
    sign_in_staff(client, StaffFactory())
    user = UserFactory()
    enrol_two_factor(user)
    authenticator = Authenticator.objects.get(user=user)

    shown = client.get(reverse("admin:mfa_authenticator_change", args=[authenticator.pk]))

    assert shown.status_code == 200
    assert authenticator.data["secret"] not in shown.content.decode()


def test_resetting_a_users_two_factor_in_the_admin_ends_their_sessions_and_tokens(client):
    sign_in_staff(client, StaffFactory())
    user = UserFactory()
    enrol_two_factor(user)
    session = Client()
    session.force_login(user)
    token = api_token(user)

    client.post(
        reverse("admin:mfa_authenticator_delete", args=[Authenticator.objects.get(user=user).pk]),
        {"post": "yes"},
    )

    assert not Authenticator.objects.filter(user=user).exists()
    assert session.get(reverse("credits:dashboard")).status_code == 302
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_a_superuser_gives_powers_to_others_but_not_to_themselves(client):
    superuser = StaffFactory()
    sign_in_staff(client, superuser)
    group = Group.objects.create(name="Support")
    colleague = UserFactory()

    client.post(
        reverse("admin:accounts_user_change", args=[colleague.pk]),
        {**everything(colleague, group=group), "is_superuser": ""},
    )
    own = page(client.get(reverse("admin:accounts_user_change", args=[superuser.pk])))

    colleague.refresh_from_db()
    assert (colleague.is_staff, colleague.is_superuser) == (True, False)
    assert list(colleague.groups.all()) == [group]
    assert own.find(attrs={"name": "is_superuser"}) is None
    assert own.find(attrs={"name": "groups"}) is None


def test_only_superusers_manage_addresses_and_authenticators_in_the_admin(client):
    """An address added there, marked verified, receives the account's password resets; a
    removed authenticator leaves an account one password away: superusers' acts only."""
    staff = StaffFactory(
        is_superuser=False,
        permissions=[
            "account.view_emailaddress",
            "account.add_emailaddress",
            "account.change_emailaddress",
            "account.delete_emailaddress",
            "mfa.view_authenticator",
            "mfa.delete_authenticator",
        ],
    )
    customer = UserFactory()
    enrol_two_factor(customer)
    sign_in_staff(client, staff)
    authenticator = Authenticator.objects.get(user=customer)

    added = client.post(
        reverse("admin:account_emailaddress_add"),
        {"user": customer.pk, "email": "attacker@example.com", "verified": "on", "primary": ""},
    )
    removed = client.post(
        reverse("admin:mfa_authenticator_delete", args=[authenticator.pk]), {"post": "yes"}
    )

    assert added.status_code == 403
    assert removed.status_code == 403
    assert not customer.emailaddress_set.filter(email="attacker@example.com").exists()
    assert Authenticator.objects.filter(pk=authenticator.pk).exists()
    assert client.get(reverse("admin:account_emailaddress_changelist")).status_code == 200
