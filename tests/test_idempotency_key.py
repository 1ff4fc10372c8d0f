"""The Idempotency-Key has one limit, the one the schema and the refusal state: 1 to 200
printable ASCII characters. The ledger stores the API's keys as "api:<key>" in 255 characters,
so 252 to 255 used to pass the API's check and fail the ledger's, with a message about 255."""

import pytest
import yaml
from django.urls import reverse

from credits.models import CreditTransaction
from tests.clients import Api
from tests.credits.conftest import fund, state
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app

pytestmark = pytest.mark.django_db

HEADER = "Idempotency-Key"
RULE = "1 to 200 printable ASCII characters, without spaces (a UUID is a good key)"


@pytest.fixture
def api():
    user = UserFactory()
    fund(user.wallet, 1000)
    return Api(user)


def spend(api, key):
    return api.post("spends", {"amount": 10, "description": "Logo"}, idempotency_key=key)


def test_a_key_of_200_characters_spends_once_and_replays(api):
    key = "k" * 200

    first, again = spend(api, key), spend(api, key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert state(api.user.wallet)[0] == 990


@pytest.mark.parametrize("length", [201, 252, 255, 256])
def test_a_longer_key_is_refused_naming_the_real_limit(api, length):
    response = spend(api, "k" * length)

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "invalid", "detail": f"The {HEADER} must be {RULE}.", "attr": HEADER}],
    }
    assert not CreditTransaction.objects.filter(kind="spend").exists()


@pytest.mark.parametrize("key", ["", "two words", "clé-é", "tab\tkey"])
def test_a_key_outside_printable_ascii_is_refused(api, key):
    response = spend(api, key)

    assert response.status_code == 400
    assert response.json()["errors"][0] | {"detail": None} == {
        "code": "invalid",
        "detail": None,
        "attr": HEADER,
    }


def test_a_missing_key_is_refused_as_required(api):
    response = spend(api, None)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"code": "required", "detail": f"An {HEADER} header is required: {RULE}.", "attr": HEADER}
    ]


def schema_document(client) -> dict:
    return yaml.safe_load(client.get(reverse("api-schema")).content)


def operations_taking_the_key(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            if HEADER in parameters:
                yield path, method, operation, parameters[HEADER]


def error_components(document: dict, operation: dict) -> list[dict]:
    """The per-field error components of the operation's 400 validation error."""
    schemas = document["components"]["schemas"]

    def resolve(ref: dict) -> dict:
        return schemas[ref["$ref"].rsplit("/", 1)[-1]]

    response_400 = resolve(operation["responses"]["400"]["content"]["application/json"]["schema"])
    validation = next(
        resolve(option)
        for option in response_400["oneOf"]
        if resolve(option)["properties"]["type"]["$ref"].endswith("ValidationErrorEnum")
    )
    errors = resolve(validation["properties"]["errors"]["items"])
    return [resolve(option) for option in errors["oneOf"]]


def test_every_operation_taking_the_key_documents_its_limit_and_its_400(client):
    document = schema_document(client)
    found = list(operations_taking_the_key(document))

    # spends, holds, capture, release, transfers, staff grants, deductions; a job's submit and
    # cancel, a milestone's accept, accept in part, changes, cancel and dispute; a partner app's
    # refund
    assert len(found) == 15
    for path, method, operation, parameter in found:
        assert parameter["required"] is True
        assert parameter["schema"] | {"type": "string"} == {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": "^[!-~]+$",
        }, (method, path)
        key_errors = [
            component
            for component in error_components(document, operation)
            if component["properties"]["attr"]["enum"] == [HEADER]
        ]
        assert [set(c["properties"]["code"]["enum"]) for c in key_errors] == [
            {"required", "invalid"}
        ], (method, path)


def test_every_operation_taking_the_key_answers_the_documented_400(client):
    user = UserFactory()
    staff = Api(StaffFactory(is_superuser=True))
    caller = Api(user)
    partner = PartnerApi(approved_app(), user, "credits:refund")
    for path, method, _, _ in operations_taking_the_key(schema_document(client)):
        concrete = path.removeprefix("/api/v1/").replace("{hold_id}", "1")
        concrete = concrete.replace("{wallet_id}", str(user.wallet.pk))
        concrete = concrete.replace("{job_id}", "1").replace("{milestone_id}", "1")
        concrete = concrete.replace("{transaction_id}", "1")
        api = staff if concrete.startswith("admin/") else caller
        if concrete.endswith("/refunds"):  # partner apps only
            api = partner
        assert method == "post"

        response = api.post(concrete, {}, idempotency_key="k" * 201)

        assert response.status_code == 400, path
        assert response.json()["errors"][0]["attr"] == HEADER, path
