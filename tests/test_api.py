"""The API shell: its root, its schema and docs, its one error shape."""

import re

import pytest
import yaml
from django.urls import reverse
from openapi_spec_validator import validate

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ERROR_SHAPE_KEYS = {"type", "errors"}


def test_the_schema_is_a_valid_openapi_3_document(client):
    response = client.get(reverse("api-schema"))

    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/me" in document["paths"]


def test_the_schema_documents_the_error_shape_on_every_operation(client):
    document = yaml.safe_load(client.get(reverse("api-schema")).content)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            if operation.get("security") != [{}]:
                error = operation["responses"]["401"]["content"]["application/json"]["schema"]
                assert error["$ref"].endswith("ErrorResponse401")
    assert "ErrorResponse401" in document["components"]["schemas"]


def test_the_docs_load_every_asset_from_this_server(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    html = client.get(reverse("api-docs")).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    assert not [asset for asset in assets if asset.startswith(("http:", "https:", "//"))]
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_an_anonymous_call_gets_401_in_the_error_shape(client):
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            }
        ],
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_gets_401_in_the_error_shape(client):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_a_signed_in_session_reaches_the_api(client):
    user = UserFactory(name="Ana")
    client.force_login(user)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "email": user.email, "name": "Ana"}


def test_an_unknown_endpoint_gets_404_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert set(response.json()) == ERROR_SHAPE_KEYS
    assert response.json()["errors"][0]["code"] == "not_found"


def test_a_wrong_method_gets_405_in_the_error_shape(client):
    client.force_login(UserFactory())

    response = client.post("/api/v1/me")

    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "method_not_allowed"


def test_the_root_points_to_the_schema_and_docs(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert response.json() == {
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
    }


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_endpoints_answer_in_the_error_shape_even_while_debugging(client, settings, debug):
    settings.DEBUG = debug

    for path in ["/api/v1/me/", "/api/v2/", "/api/nothing"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "not_found"
