"""Every list of the API pages one way: cursor pages in one envelope (`next`, `previous`,
`results`), whatever the list (a partner saw page numbers on some, a bare list on /grants); and a
list item's `id` is the one its detail address takes."""

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from credits import selectors, services
from disputes import services as disputes
from jobs import services as jobs
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partners import Partner, api_key, approved_app, signing_key
from tests.jobs.conftest import delivered, open_job

pytestmark = pytest.mark.django_db

ENVELOPE = {"next", "previous", "results"}


def list_operations(document: dict):
    """(path, 200 response schema) of every GET whose answer is a list of something."""
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        content = operation["responses"]["200"].get("content", {}).get("application/json")
        schema = (content or {}).get("schema", {})
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        if schema.get("type") == "array" or "results" in schema.get("properties", {}):
            yield path, operation, schema


@pytest.fixture
def document(client) -> dict:
    return yaml.safe_load(client.get(reverse("api-schema")).content)


@pytest.fixture
def world(settings):
    """A user with grants, movements, a dispute and a job with a file; a staff member; a partner
    app's key (for its own lists, under app/)."""
    user = UserFactory()
    fund(user.wallet, 500)
    fund(user.wallet, 30, days=3, source="promotion")
    spent = services.spend(wallet=user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
    disputes.open_dispute(
        user=user, txn=spent, reason="not_delivered", description="Nothing came.", amount=5
    )
    job = jobs.create_draft(client=user, title="A logo")
    jobs.upload(job=job, by=user, upload=SimpleUploadedFile("brief.txt", b"A round logo."))
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": signing_key()}
    return {
        "user": Api(user),
        "staff": Api(StaffFactory(is_superuser=True)),
        "app": Partner(api_key(approved_app())),
        "job": job,
    }


def a_delivered_job(world) -> dict[str, int]:
    """A job of the user's with a delivered milestone: the ids its lists' addresses name."""
    job = open_job(world["user"].user, 20)
    milestone = delivered(job, world["staff"].user)
    return {"{job_id}": job.pk, "{milestone_id}": milestone.pk}


def test_every_list_in_the_schema_is_a_cursor_page_in_one_envelope(document):
    found = {path: (operation, schema) for path, operation, schema in list_operations(document)}

    assert set(found) == {
        "/api/v1/transactions",
        "/api/v1/grants",
        "/api/v1/disputes",
        "/api/v1/jobs/{job_id}/files",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}/activity",
        "/api/v1/jobs/{job_id}/milestones/{milestone_id}/deliveries",
        "/api/v1/app/consents",
        "/api/v1/app/holds",
        "/api/v1/app/charges",
        "/api/v1/admin/wallets",
        "/api/v1/admin/approvals",
        "/api/v1/admin/disputes",
        "/api/v1/admin/jobs",
    }
    for path, (operation, schema) in found.items():
        assert schema.get("type") == "object", f"{path} is a bare list"
        assert set(schema["properties"]) >= ENVELOPE, path
        assert "count" not in schema["properties"], path
        parameters = {parameter["name"] for parameter in operation.get("parameters", [])}
        assert {"cursor", "page_size"} <= parameters, path
        assert "page" not in parameters, path


def test_every_list_answers_the_envelope_and_its_next_page(document, world):
    ids = a_delivered_job(world)
    for path, _, _ in list_operations(document):
        concrete = path.removeprefix("/api/v1/")
        for placeholder, value in ids.items():
            concrete = concrete.replace(placeholder, str(value))
        api = world["staff"] if concrete.startswith("admin/") else world["user"]
        api = world["app"] if concrete.startswith("app/") else api

        first = api.get(f"{concrete}?page_size=1")

        assert first.status_code == 200, path
        assert set(first.json()) == ENVELOPE, path
        assert first.json()["previous"] is None, path
        if first.json()["next"]:
            second = api.client.get(first.json()["next"], **api.headers).json()
            assert set(second) == ENVELOPE, path
            assert second["previous"] is not None, path


def walk(api, path: str) -> list[dict]:
    """Every item of a list, following `next` one item at a time."""
    items, page = [], api.get(f"{path}?page_size=1").json()
    while True:
        items += page["results"]
        if not page["next"]:
            return items
        page = api.client.get(page["next"], **api.headers).json()


def test_grants_page_in_burn_down_order_across_ties_and_never_expiring_blocks():
    user = UserFactory()
    for days, source, priority in [
        (None, "purchase", 50),
        (9, "purchase", 50),
        (3, "promotion", 50),
        (3, "purchase", 50),
        (None, "promotion", 10),
        (30, "purchase", 90),
    ]:
        fund(user.wallet, 7, days=days, source=source, priority=priority)

    listed = walk(Api(user), "grants")

    assert [grant["id"] for grant in listed] == [
        grant.pk for grant in selectors.grants_in_burn_down_order(user.wallet)
    ]
    assert len(listed) == 6
    assert [grant["priority"] for grant in listed] == [10, 50, 50, 50, 50, 90]
    assert listed[-2]["expires_at"] is None  # never-expiring last among priority 50


def test_each_movements_id_opens_its_transaction(world):
    api = world["user"]
    bob = UserFactory()
    api.post("transfers", {"receiver_email": bob.email, "amount": 20})

    movements = walk(api, "transactions")

    assert [m["kind"] for m in movements] == ["transfer", "spend", "grant", "grant"]
    for movement in movements:
        detail = api.get(f"transactions/{movement['id']}")
        assert detail.status_code == 200, movement
        assert detail.json()["kind"] == movement["kind"]
        assert set(movement["entry"]) == {"id", "amount", "balance_after"}
    assert movements[0]["entry"]["amount"] == -20
    assert movements[0]["entry"]["balance_after"] == 500


def test_a_page_keeps_its_place_while_new_movements_arrive(world):
    api = world["user"]
    first = api.get("transactions?page_size=2").json()
    services.spend(wallet=api.user.wallet, amount=1, actor=ACTOR, idempotency_key=key())

    second = api.client.get(first["next"], **api.headers).json()

    seen = [m["id"] for m in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 3
