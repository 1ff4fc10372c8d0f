"""What the API's write endpoints take and answer: a field they do not know is a 400 naming it
(every write endpoint, walked from the schema), never silently dropped; the caller's `metadata`
is kept on spends, holds, captures and transfers within documented limits; a capture keeps its
own description; a hold lasts at most CREDITS_HOLD_MAX_TTL_DAYS; and the answers that move
credits say the wallet's new `balance` and `available`."""

from datetime import timedelta

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from credits import services
from credits.errors import InvalidRequest
from credits.models import CreditTransaction, Hold, IdempotencyRecord
from disputes import services as disputes
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app
from tests.jobs.conftest import delivered, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture
def api():
    user = UserFactory()
    fund(user.wallet, 1000)
    return Api(user)


@pytest.fixture
def document(client) -> dict:
    return yaml.safe_load(client.get(reverse("api-schema")).content)


def write_operations(document: dict):
    """Every write that takes JSON; a multipart upload (a job's file) refuses unknown fields in
    its own tests (tests/jobs/test_file_api.py)."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in WRITE_METHODS and "multipart/form-data" not in content:
                yield path, method, operation


@pytest.fixture
def world(api):
    """Real rows for every id a write path names: a hold, a dispute, an approval request, a
    delivered job milestone, a partner app's charge (only the app may refund it)."""
    spent = services.spend(wallet=api.user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
    hold = services.hold(wallet=api.user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
    dispute = disputes.open_dispute(
        user=api.user, txn=spent, reason="not_delivered", description="Nothing came.", amount=5
    )
    maker, checker = Api(StaffFactory(is_superuser=True)), Api(StaffFactory(is_superuser=True))
    milestone = delivered(open_job(api.user, 100), checker.user)
    asked = maker.post(
        f"admin/wallets/{api.user.wallet.pk}/grants", {"amount": 5000, "reason": "x"}
    )
    assert asked.status_code == 202
    partner = PartnerApi(approved_app(), api.user, "credits:spend credits:refund")
    charged = partner.post("spends", {"amount": 5, "description": "Translation"})
    ids = {
        "{transaction_id}": charged.json()["id"],
        "{hold_id}": hold.hold.pk,
        "{wallet_id}": api.user.wallet.pk,
        "{dispute_id}": dispute.pk,
        "{approval_id}": asked.json()["id"],
        "{job_id}": milestone.job_id,
        "{milestone_id}": milestone.pk,
    }
    return {"user": api, "staff": checker, "partner": partner, "ids": ids}


def call(world, method: str, path: str, body: dict):
    concrete = path.removeprefix("/api/v1/")
    for placeholder, value in world["ids"].items():
        concrete = concrete.replace(placeholder, str(value))
    assert "{" not in concrete, f"no sample id for {path}"
    api = world["staff"] if concrete.startswith("admin/") else world["user"]
    if concrete.endswith("/refunds"):  # partner apps only (the person's own is a 403)
        api = world["partner"]
    return api.send(method, concrete, body)


def test_every_write_endpoint_refuses_an_unknown_field_and_does_nothing(document, world):
    found = list(write_operations(document))
    before = (CreditTransaction.objects.count(), state(world["user"].user.wallet))

    assert len(found) == 30
    for path, method, _ in found:
        # Drafts are edited (PATCH) and planned (PUT); every other write is a POST.
        assert method == "post" or path.startswith("/api/v1/jobs/{job_id}"), path

        response = call(world, method, path, {"surprise": 1})

        assert response.status_code == 400, path
        unknown = [e for e in response.json()["errors"] if e["attr"] == "surprise"]
        assert [e["code"] for e in unknown] == ["unknown_field"], path
    assert (CreditTransaction.objects.count(), state(world["user"].user.wallet)) == before


def test_every_request_body_says_it_takes_no_other_field(document):
    schemas = document["components"]["schemas"]
    bodies = [
        (path, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
        for path, _, operation in write_operations(document)
        if "requestBody" in operation  # a release or a submit takes none (refusing any, above)
    ]

    assert len(bodies) == 27
    for path, reference in bodies:
        assert schemas[reference.rsplit("/", 1)[-1]]["additionalProperties"] is False, path


def test_a_spend_with_a_misspelt_field_spends_nothing_and_may_be_corrected(api):
    body = {"amount": 5, "description": "Logo", "metdata": {"order": "A-1"}}

    refused = api.post("spends", body, idempotency_key="typo")
    body["metadata"] = body.pop("metdata")
    corrected = api.post("spends", body, idempotency_key="typo")

    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "code": "unknown_field",
            "detail": "Unknown field: this endpoint takes amount, description, reference, "
            "metadata.",
            "attr": "metdata",
        }
    ]
    assert corrected.status_code == 201
    assert corrected.json()["metadata"] == {"order": "A-1"}


def test_metadata_is_kept_on_spends_holds_captures_and_transfers(api):
    bob = UserFactory()
    notes = {"order": "A-1009", "customer": 42, "rush": True, "coupon": None}

    spent = api.post("spends", {"amount": 5, "description": "Logo", "metadata": notes})
    held = api.post("holds", {"amount": 50, "description": "Job", "metadata": {"job": "j-7"}})
    captured = api.post(
        f"holds/{held.json()['id']}/capture",
        {"amount": 20, "description": "Milestone 1", "metadata": {"milestone": 1}},
    )
    sent = api.post(
        "transfers", {"receiver_email": bob.email, "amount": 30, "metadata": {"why": "split"}}
    )

    assert spent.json()["metadata"] == notes
    assert CreditTransaction.objects.get(pk=spent.json()["id"]).metadata == notes
    assert held.json()["metadata"] == {"job": "j-7"}
    assert Hold.objects.get(pk=held.json()["id"]).metadata == {"job": "j-7"}
    assert captured.json()["metadata"] == {"milestone": 1}
    assert captured.json()["description"] == "Milestone 1"
    assert sent.json()["metadata"] == {"why": "split", "receiver_wallet": bob.wallet.pk}
    listed = {m["id"]: m["metadata"] for m in api.get("transactions").json()["results"]}
    assert listed[spent.json()["id"]] == notes


def test_a_capture_without_a_description_is_described_as_its_hold():
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)
    hold_id = api.post("holds", {"amount": 50, "description": "Website job"}).json()["id"]

    captured = api.post(f"holds/{hold_id}/capture", {"amount": 10})

    assert captured.json()["description"] == "Website job"


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{index}": "v" for index in range(21)},
        {"k" * 41: "v"},
        {"": "v"},
        {"note": "x" * 501},
        {"nested": {"a": 1}},
        {"list": [1, 2]},
        {"ratio": 0.5},
        ["not", "an", "object"],
        "text",
    ],
)
def test_metadata_beyond_its_limits_is_a_400_on_metadata_and_keeps_nothing(api, metadata):
    response = api.post(
        "spends", {"amount": 5, "description": "x", "metadata": metadata}, idempotency_key="m"
    )

    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["metadata"]
    assert state(api.user.wallet)[0] == 1000
    assert not IdempotencyRecord.objects.filter(key="m").exists()


def test_metadata_at_its_limits_is_kept(api):
    metadata = {f"{index:0>40}": "x" * 500 for index in range(20)}

    response = api.post("spends", {"amount": 5, "description": "x", "metadata": metadata})

    assert response.status_code == 201
    assert response.json()["metadata"] == metadata


def test_a_transfer_cannot_set_the_ledgers_own_metadata_key(api):
    bob = UserFactory()

    response = api.post(
        "transfers", {"receiver_email": bob.email, "amount": 5, "metadata": {"receiver_wallet": 1}}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "metadata"


def test_a_hold_beyond_the_maximum_ttl_is_a_400_naming_expires_at(api, settings):
    settings.CREDITS_HOLD_MAX_TTL_DAYS = 90
    now = timezone.now()

    in_2099 = api.post(
        "holds", {"amount": 5, "description": "x", "expires_at": "2099-01-01T00:00Z"}
    )
    too_late = api.post(
        "holds",
        {"amount": 5, "description": "x", "expires_at": (now + timedelta(days=91)).isoformat()},
    )
    in_time = api.post(
        "holds",
        {"amount": 5, "description": "x", "expires_at": (now + timedelta(days=89)).isoformat()},
    )

    for refused in (in_2099, too_late):
        assert refused.status_code == 400
        assert refused.json()["type"] == "validation_error"
        assert refused.json()["errors"][0]["attr"] == "expires_at"
        assert "at most 90 days" in refused.json()["errors"][0]["detail"]
    assert in_time.status_code == 201
    assert state(api.user.wallet)[1] == 5


def test_the_hold_ttl_limit_is_the_services_so_every_surface_keeps_it(settings):
    settings.CREDITS_HOLD_MAX_TTL_DAYS = 10
    wallet = UserFactory().wallet
    fund(wallet, 100)

    with pytest.raises(InvalidRequest, match="at most 10 days") as refused:
        services.hold(
            wallet=wallet,
            amount=5,
            expires_at=timezone.now() + timedelta(days=11),
            actor=ACTOR,
            idempotency_key=key(),
        )

    assert refused.value.field == "expires_at"
    assert state(wallet)[1] == 0


def test_spend_capture_transfer_and_hold_answers_say_the_new_balance_and_available(api):
    bob = UserFactory()

    spent = api.post("spends", {"amount": 100, "description": "x"}).json()
    held = api.post("holds", {"amount": 200, "description": "job"}).json()
    captured = api.post(f"holds/{held['id']}/capture", {"amount": 50, "final": False}).json()
    sent = api.post("transfers", {"receiver_email": bob.email, "amount": 10}).json()

    assert (spent["balance"], spent["available"]) == (900, 900)
    assert (held["balance"], held["available"]) == (900, 700)
    assert (captured["balance"], captured["available"]) == (850, 700)
    assert (sent["balance"], sent["available"]) == (840, 690)
    assert state(api.user.wallet) == (840, 150, 690)


def test_a_replayed_spend_answers_the_figures_of_its_first_answer(api):
    body = {"amount": 100, "description": "x"}
    first = api.post("spends", body, idempotency_key="again")
    api.post("spends", {"amount": 1, "description": "y"})

    again = api.post("spends", body, idempotency_key="again")

    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.json()["balance"] == 900
