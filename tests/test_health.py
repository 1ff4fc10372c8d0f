import json

import pytest

from tests.processes import python

CHECK_HEALTH = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "details": {
            "events_oldest_waiting_seconds": None,
            "webhook_deliveries_oldest_waiting_seconds": None,
            "stuck_after_seconds": 600,
        },
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_refuses_other_methods_with_405(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200  # a load balancer's probe


def test_healthz_answers_503_naming_the_database_when_it_is_down(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/missing-folder/db.sqlite3"

    result = python(
        CHECK_HEALTH,
        DEBUG="false",
        SECRET_KEY="health-tests-only-" * 3,
        SITE_URL="http://testserver",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=unreachable,
    )

    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body) == {"status": "unavailable", "database": "unavailable"}
