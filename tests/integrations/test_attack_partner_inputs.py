"""Attacks on a partner app's own endpoints and credentials: bad input that could answer 500,
API keys on user and staff endpoints, keys and tokens after suspension, revocation and rotation,
and the rate limit's accounting. Each test either proves the attack fails or, marked DEFECT,
shows that it works."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.errors import InvalidApp
from integrations.models import AppKey, PartnerApp
from integrations.services import consents, keys
from tests.credits.conftest import fund
from tests.integrations.partners import (
    Partner,
    api_key,
    approved_app,
    consenting_user,
    oidc_key,
    set_status,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("oidc_key", "ledger_reconciles"),
]
assert oidc_key  # a fixture, used above

CHARGING = "openid credits:read credits:spend credits:hold credits:refund"


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-01"},
        {"to": "0001-01-15"},
        {"from": "0001-01-01"},
        {"from": "0001-01-01", "to": "0001-01-01"},
        {"from": "9999-12-31"},
    ],
)
def test_usage_with_dates_at_the_calendars_edge_is_a_400_not_a_500(params):
    """DEFECT (with `to` near 0001-01-01 and no `from`): UsageQuery.validate computes the
    default start as `to - 29 days`, which overflows below date.min: OverflowError, a 500.
    Reproduce: GET /api/v1/app/usage?to=0001-01-01 with any key that has usage:read."""
    key = Partner(api_key(approved_app()))

    answer = key.get("app/usage", **params)

    assert answer.status_code in (200, 400), (params, answer.status_code)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("app/charges", {"user": "99999999999999999999999"}),
        ("app/charges", {"user": "0"}),
        ("app/charges", {"created_after": "0001-01-01T00:00:00+05:00"}),
        ("app/charges", {"created_before": "9999-12-31T23:59:59-05:00"}),
        ("app/holds", {"status": "open", "page_size": "100000"}),
        ("app/consents", {"page_size": "-1"}),
        ("app/consents", {"cursor": "%00%ff"}),
    ],
)
def test_the_apps_endpoints_never_answer_500(path, params):
    """DEFECT (SQLite only, `user` past 2**63): the `user` filter of /api/v1/app/charges has no
    upper bound, and SQLite cannot bind the number: OverflowError, a 500 (PostgreSQL answers
    200 with no rows). Reproduce: GET /api/v1/app/charges?user=99999999999999999999999."""
    key = Partner(api_key(approved_app()))

    answer = key.get(path, **params)

    assert answer.status_code in (200, 400, 404), (path, params, answer.status_code)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("transactions", {"app": "1e400"}),
        ("transactions", {"app": "99999999999999999999999"}),
        ("transactions", {"app": "NaN"}),
        ("transactions", {"app": "-1"}),
        ("transactions", {"created_after": "0001-01-01T00:00:00+01:00"}),
        ("statements", {"from": "0001-01-01", "to": "0001-01-01"}),
    ],
)
def test_a_partner_tokens_reads_never_answer_500(path, params):
    app = approved_app()
    _user, token = consenting_user(app, scopes=CHARGING)

    answer = Partner(token).get(path, **params)

    assert answer.status_code in (200, 400, 404), (path, params, answer.status_code)


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 10**30, "description": "x"},
        {"amount": 2**63, "description": "x"},
        {"amount": True, "description": "x"},
        {"amount": "10", "description": "x"},
        {"amount": 10, "description": "x" * 100_000},
        {"amount": 10, "description": "x", "metadata": {"a": "\x00"}},
        {"amount": 10, "description": "\x00"},
        {"amount": 10, "expires_at": "0001-01-01T00:00:00+05:00"},
        {"amount": 10, "expires_at": "9999-12-31T23:59:59-05:00"},
        {"amount": 10, "reference": "r" * 10_000},
        [1, 2],
        "amount",
    ],
)
def test_bad_charge_bodies_are_refused_with_a_4xx_and_move_nothing(body):
    """DEFECT (on PostgreSQL, `metadata` with a NUL character): the metadata check lets
    a NUL through and PostgreSQL's jsonb refuses it (DataError "unsupported Unicode escape
    sequence"): the spend and the hold answer 500. Reproduce: POST /api/v1/spends with
    {"amount": 10, "description": "x", "metadata": {"a": "\\u0000"}} on PostgreSQL. (SQLite
    stores it: 201; the rule should refuse it, 400, on both.)"""
    app = approved_app()
    user, token = consenting_user(app, scopes=CHARGING)
    fund(user.wallet, 100)
    partner = Partner(token)

    answers = [partner.post("holds", body), partner.post("spends", body)]

    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    user.wallet.refresh_from_db()
    assert (user.wallet.balance, user.wallet.held) == (100, 0)


def test_a_huge_or_odd_idempotency_key_is_refused_not_a_500():
    app = approved_app()
    user, token = consenting_user(app, scopes=CHARGING)
    fund(user.wallet, 100)
    partner = Partner(token)

    answers = [
        partner.post("spends", {"amount": 1, "description": "x"}, idempotency_key=value)
        for value in ("k" * 10_000, "\x00", " ")
    ]

    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]


# --- credentials --------------------------------------------------------------------------------


def test_an_api_key_reaches_no_ledger_operation_of_any_user():
    app = approved_app()
    user, _token = consenting_user(app, scopes=CHARGING)
    fund(user.wallet, 100)
    key = Partner(api_key(app))

    answers = [
        key.get("wallet"),
        key.get("transactions"),
        key.post("spends", {"amount": 1, "description": "x"}),
        key.post("holds", {"amount": 1, "description": "x"}),
        key.post("transfers", {"amount": 1, "receiver_email": user.email}),
        key.get("me"),
        key.get("admin/wallets"),
    ]

    assert all(a.status_code in (403, 404) for a in answers), [a.status_code for a in answers]
    user.wallet.refresh_from_db()
    assert user.wallet.balance == 100


def test_a_key_rotated_with_no_overlap_stops_at_once_and_cannot_be_rotated_again():
    app = approved_app()
    old_secret = keys.create(app=app, name="server", scope_names="credits:read", by=None)
    new = keys.rotate(key=old_secret.key, overlap_hours=0, by=None)

    old_answer = Partner(old_secret.secret).get("app/consents")
    new_answer = Partner(new.secret).get("app/consents")

    assert old_answer.status_code == 401
    assert new_answer.status_code == 200
    with pytest.raises(InvalidApp):
        keys.rotate(key=old_secret.key, overlap_hours=24, by=None)


@pytest.mark.parametrize("hours", [-1, 25, 10**9, 1.5, "24"])
def test_the_overlap_of_a_rotation_is_bounded(hours):
    app = approved_app()
    made = keys.create(app=app, name="server", scope_names="credits:read", by=None)

    with pytest.raises(InvalidApp):
        keys.rotate(key=made.key, overlap_hours=hours, by=None)

    assert AppKey.objects.filter(app=app).count() == 1


def test_a_keys_secret_is_stored_nowhere_and_its_prefix_alone_does_not_authenticate():
    app = approved_app()
    made = keys.create(app=app, name="server", scope_names="credits:read", by=None)
    _cdk, env, prefix, secret = made.secret.split("_", 3)
    row = AppKey.objects.get(pk=made.key.pk)

    assert secret not in str(row.__dict__)
    forged = f"cdk_{env}_{prefix}_{'A' * 43}"
    assert Partner(forged).get("app/consents").status_code == 401
    other_env = "live" if env == "test" else "test"
    assert Partner(f"cdk_{other_env}_{prefix}_{secret}").get("app/consents").status_code == 401


def test_a_token_and_a_key_stop_while_the_app_is_suspended_and_a_key_of_a_revoked_app_forever():
    app = approved_app()
    user, token = consenting_user(app, scopes=CHARGING)
    fund(user.wallet, 100)
    secret = api_key(app, scopes="credits:read")
    set_status(app, PartnerApp.Status.SUSPENDED)

    spent = Partner(token).post("spends", {"amount": 1, "description": "x"})
    read = Partner(secret).get("app/consents")
    app = set_status(app, PartnerApp.Status.REVOKED)
    after = Partner(secret).get("app/consents")

    assert (spent.status_code, spent.json()["errors"][0]["code"]) == (403, "app_suspended")
    assert read.status_code == 403
    assert (after.status_code, after.json()["errors"][0]["code"]) == (403, "app_revoked")
    with pytest.raises(InvalidApp):
        keys.create(app=app, name="again", scope_names="credits:read", by=None)


def test_a_consent_revoked_ends_the_token_for_every_call_at_once():
    app = approved_app()
    user, token = consenting_user(app, scopes=CHARGING)
    fund(user.wallet, 100)
    consents.revoke(consent=consents.live_consent(app=app, user=user))

    answers = [
        Partner(token).get("wallet"),
        Partner(token).post("spends", {"amount": 1, "description": "x"}),
    ]

    assert [a.status_code for a in answers] == [401, 401]


def test_an_expired_key_is_refused():
    app = approved_app()
    made = keys.create(
        app=app,
        name="server",
        scope_names="credits:read",
        by=None,
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    AppKey.objects.filter(pk=made.key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert Partner(made.secret).get("app/consents").status_code == 401


# --- rate limit ----------------------------------------------------------------------------------


def test_refused_calls_of_a_limited_key_keep_counting_and_another_apps_bucket_is_untouched():
    ours = approved_app(rate_limit_per_minute=3)
    theirs = approved_app(rate_limit_per_minute=3)
    our_key, their_key = Partner(api_key(ours)), Partner(api_key(theirs))

    statuses = [our_key.get("app/consents").status_code for _ in range(6)]
    theirs_answer = their_key.get("app/consents")

    assert statuses == [200, 200, 200, 429, 429, 429]
    assert theirs_answer.status_code == 200
    assert theirs_answer["RateLimit-Remaining"] == "2"
