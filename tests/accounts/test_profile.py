import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db


def test_profile_shows_and_saves_the_name(client):
    user = UserFactory(name="Old Name")
    client.force_login(user)

    shown = client.get(reverse("accounts:profile"))
    assert page(shown).find(id="id_name")["value"] == "Old Name"
    assert user.email in text(shown)

    response = client.post(reverse("accounts:profile"), {"name": "  New Name  "}, follow=True)

    assert "Your name has been saved." in text(response)
    user.refresh_from_db()
    assert user.name == "New Name"


def test_a_too_long_name_is_refused_beside_the_field(client):
    user = UserFactory(name="Kept")
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"name": "x" * 151})

    assert response.status_code == 200
    assert page(response).find(id="id_name_error") is not None
    user.refresh_from_db()
    assert user.name == "Kept"
