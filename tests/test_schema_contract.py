"""The OpenAPI schema as tools read it: JSON on request, and text fields that must not be empty
say so (minLength), so a client generated from it refuses "" before the server has to."""

import json

import pytest
import yaml
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_schema_answers_json_when_asked_in_the_address(client):
    as_json = client.get(reverse("api-schema"), {"format": "json"})
    as_yaml = client.get(reverse("api-schema"), {"format": "yaml"})
    by_default = client.get(reverse("api-schema"))

    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["openapi"].startswith("3.")
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi;")
    assert yaml.safe_load(by_default.content) == json.loads(as_json.content)


def test_the_rest_of_the_api_ignores_a_format_parameter(client):
    response = client.get("/api/v1/", {"format": "yaml"})

    assert response["Content-Type"] == "application/json"


def test_required_text_in_request_bodies_cannot_be_empty(client):
    document = yaml.safe_load(client.get(reverse("api-schema")).content)
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in document["paths"].values()
        for operation in operations.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
    }
    may_be_empty = []
    for name in sorted(bodies):
        component = document["components"]["schemas"][name]
        for field in component.get("required", []):
            spec = component["properties"][field]
            free_text = spec.get("type") == "string" and not {"format", "enum"} & spec.keys()
            if free_text and spec.get("minLength", 0) < 1:
                may_be_empty.append(f"{name}.{field}")

    assert "SpendRequest" in bodies
    assert may_be_empty == []
