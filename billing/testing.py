"""An in-process Stripe for tests and `billing_webhook_bench`: answers stripe-python's HTTP calls
from a dict and records every call. Never used to serve real traffic.

Installed as `stripe.default_http_client`, so dj-stripe and billing talk to it instead of the
network (pytest-socket would refuse the network anyway). Unknown ids get Stripe's own 404.
"""

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import parse_qsl, urlsplit

import stripe

ACCOUNT = {"id": "acct_test", "object": "account", "livemode": False}
LISTS = {"features", "lines", "refunds", "line_items"}


def stripe_list(data: list, url: str) -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


class FakeStripe(stripe.HTTPClient):
    name = "fake"

    def __init__(self):
        super().__init__()
        self.objects: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self._ids = itertools.count(1)
        self.fail_next: str | None = None
        self.unreachable: str | None = None  # calls to paths starting with this cannot connect
        self._replies: dict[str, tuple] = {}  # by Idempotency-Key, as Stripe replays them

    def add(self, *objects: dict) -> None:
        for obj in objects:
            self.objects[obj["id"]] = dict(obj)

    def posted(self, path: str) -> list[dict]:
        """The parameters of every POST to `path`, oldest first."""
        return [params for method, url, params in self.calls if method == "post" and url == path]

    def _new(self, prefix: str, obj: str, **fields) -> dict:
        created = {"id": f"{prefix}_fake{next(self._ids)}", "object": obj, "livemode": False}
        created.update(fields)
        self.objects[created["id"]] = created
        return created

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        query = parts.query if method == "get" else (post_data or "")
        params = dict(parse_qsl(query))
        path = parts.path
        self.calls.append((method, path, params))
        key = (headers or {}).get("Idempotency-Key") if method == "post" else None
        if key in self._replies:
            return self._replies[key]
        reply = self._reply(method, path, params)
        if key is not None:
            self._replies[key] = reply
        return reply

    def _reply(self, method, path, params):
        if self.fail_next and path.startswith(self.fail_next):
            self.fail_next = None
            return _error(402, "card_error", "Your card was declined.")
        if self.unreachable and path.startswith(self.unreachable):
            raise stripe.APIConnectionError("Could not connect to Stripe (fake).")
        segments = path.strip("/").split("/")
        answer = self._answer(method, path, segments, params)
        if isinstance(answer, tuple):
            return answer  # an error reply
        if answer is None:
            return _error(
                404,
                "invalid_request_error",
                f"No such object: '{segments[-1]}'",
                code="resource_missing",
            )
        return json.dumps(answer), 200, {}

    def _answer(self, method, path, segments, params):
        if path == "/v1/account":
            return ACCOUNT
        if method == "post":
            created = self._create(path, params)
            if created is not None:
                return created
            if path.endswith("/expire"):
                session = self.objects.get(segments[-2])
                if session is None:
                    return None
                if session.get("status") != "open":  # as Stripe: an error, not a success
                    return _error(
                        400,
                        "invalid_request_error",
                        'Only Checkout Sessions with a status in ["open"] can be expired.',
                    )
                session["status"] = "expired"
                return session
        if method == "get" and path == "/v1/events":  # djstripe_process_events lists them
            events = [obj for obj in self.objects.values() if obj.get("object") == "event"]
            return stripe_list(events, path)
        if method == "get" and len(segments) == 4 and segments[-1] in LISTS:
            return stripe_list([], path)  # e.g. a product's features: none here
        obj = self.objects.get(segments[-1])
        if obj is not None and method == "post":
            obj.update({k: v for k, v in params.items() if "[" not in k})
        return obj

    def _create(self, path, params):
        metadata = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")}
        if path == "/v1/customers":
            return self._new("cus", "customer", metadata=metadata, email=params.get("email"))
        if path == "/v1/checkout/sessions":
            session = self._new(
                "cs",
                "checkout.session",
                mode=params.get("mode"),
                status="open",
                metadata=metadata,
                customer=params.get("customer"),
            )
            session["url"] = f"https://checkout.stripe.test/{session['id']}"
            return session
        if path == "/v1/billing_portal/sessions":
            return self._new(
                "bps", "billing_portal.session", url="https://billing.stripe.test/portal"
            )
        if path == "/v1/products":
            return self._new("prod", "product", name=params.get("name"), active=True)
        if path == "/v1/prices":
            return self._new(
                "price",
                "price",
                product=params.get("product"),
                unit_amount=int(params.get("unit_amount", 0)),
                currency=params.get("currency"),
                active=True,
            )
        if path == "/v1/refunds":
            return self._new(
                "re",
                "refund",
                amount=int(params.get("amount", 0)),
                payment_intent=params.get("payment_intent"),
                status="succeeded",
            )
        return None

    def close(self):
        pass


def _error(status: int, kind: str, message: str, code: str | None = None):
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return json.dumps({"error": error}), status, {}


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's signature header: t=<time>,v1=HMAC-SHA256(secret, "<time>.<payload>")."""
    timestamp = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


_event_ids = itertools.count(1)


def event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None):
    """A Stripe event wrapping `obj`, as the webhook sends it."""
    return {
        "id": event_id or f"evt_test{next(_event_ids)}",
        "object": "event",
        "api_version": "2026-05-27.dahlia",
        "created": created or int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def own_stripe_account(*, secret_key: str, account_id: str = "acct_test") -> None:
    """Tell dj-stripe which account owns the key, so it never asks Stripe (GET /v1/account)."""
    from djstripe.models import Account, APIKey

    account = Account.objects.create(id=account_id, livemode=False, stripe_data={"id": account_id})
    APIKey.objects.create(
        secret=secret_key, type="secret", livemode=False, djstripe_owner_account=account
    )
