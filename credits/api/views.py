"""The credits API: the caller's wallet, its history and credit blocks, statements, and the
operations that move credits (each needs an Idempotency-Key)."""

import json

import django_filters
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse429Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import lookups
from accounts.errors import ReceiverLookupsExhausted, ReceiverNotFound
from core.api.errors import REFUSALS
from core.api.filters import IdFilter, StrictFilterSet, UtcDateTimeFilter
from core.api.idempotency import IDEMPOTENCY_HEADER
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.permissions import PartnersOnly
from core.api.representation import represent
from core.api.tags import Tag
from credits import selectors, services
from credits.api.idempotency import actor_for, created, idempotent, ok
from credits.api.serializers import (
    CaptureRequest,
    GrantSerializer,
    HoldRequest,
    MovementSerializer,
    PlacedHoldSerializer,
    RefundRequest,
    ReleaseRequest,
    SpendRequest,
    StatementQuery,
    TransactionDetailSerializer,
    TransactionSerializer,
    TransferRequest,
    WalletFiguresSerializer,
    WalletSerializer,
)
from credits.models import CreditGrant, CreditTransaction, Entry, Hold
from credits.services import Reference
from credits.statements import statement_csv


def _wallet(request):
    return request.user.wallet


WALLET = represent(WalletSerializer)  # GET /wallet is the API's most frequent read


class WalletView(APIView):
    required_scopes = {"GET": "credits:read"}  # what a partner app needs (docs/partners.md)

    @extend_schema(
        summary="The caller's wallet",
        description="Balance, available (balance minus held), held, status and what expires soon.",
        responses=WalletSerializer,
        tags=[Tag.WALLET],
    )
    def get(self, request):
        wallet = _wallet(request)
        wallet.expiring_soon = selectors.expiring_soon(wallet)
        return Response(WALLET(wallet))


class MovementFilter(StrictFilterSet):
    kind = django_filters.ChoiceFilter(
        field_name="transaction__kind", choices=CreditTransaction.Kind.choices
    )
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    app = IdFilter(
        field_name="transaction__actor_app_id",
        help_text="Only what this partner app asked for (its id: `app.id` of a movement).",
    )

    class Meta:
        model = Entry
        fields = ["kind", "created_after", "created_before", "app"]


@extend_schema(
    summary="The caller's movements, newest first",
    description="Every movement of the wallet's balance with the balance after it. Cursor "
    "pagination: pages stay stable while new movements arrive.",
    tags=[Tag.TRANSACTIONS],
)
@page_size_errors
class TransactionListView(generics.ListAPIView):
    required_scopes = {"GET": "credits:read"}  # what a partner app needs (docs/partners.md)
    serializer_class = MovementSerializer
    filterset_class = MovementFilter
    queryset = Entry.objects.none()  # for the schema; get_queryset gives the caller's

    def get_queryset(self):
        return Entry.objects.filter(wallet=_wallet(self.request)).select_related("transaction")


class TransactionDetailView(APIView):
    required_scopes = {"GET": "credits:read"}  # what a partner app needs (docs/partners.md)

    @extend_schema(
        summary="One transaction of the caller's wallet",
        description="With the caller's own credit blocks it used (allocations: a transfer's "
        "receiver sees none of the sender's) and its refunds.",
        responses=TransactionDetailSerializer,
        tags=[Tag.TRANSACTIONS],
    )
    def get(self, request, transaction_id: int):
        txn = selectors.transaction_detail_for(
            wallet=_wallet(request), transaction_id=transaction_id
        )
        if txn is None:
            raise Http404
        return Response(TransactionDetailSerializer(txn).data)


@extend_schema(
    summary="The caller's credit blocks",
    description="Blocks with credits left, in the order spends use them (first = used first). "
    "Cursor pagination, as every list.",
    tags=[Tag.WALLET],
)
@page_size_errors
class GrantListView(generics.ListAPIView):
    required_scopes = {"GET": "credits:read"}  # what a partner app needs (docs/partners.md)
    serializer_class = GrantSerializer
    cursor_ordering = selectors.BURN_DOWN_ORDER
    queryset = CreditGrant.objects.none()  # for the schema; get_queryset gives the caller's

    def get_queryset(self):
        return selectors.grants_left(_wallet(self.request))


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str | bytes) else json.dumps(data)  # errors stay JSON


@extend_validation_errors(["required", "invalid"], field_name="from", methods=["get"])
@extend_validation_errors(["required", "invalid"], field_name="to", methods=["get"])
class StatementView(APIView):
    required_scopes = {"GET": "credits:read"}  # what a partner app needs (docs/partners.md)
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="A statement between two dates",
        description="CSV with `Accept: text/csv`, JSON otherwise; streamed, with the opening and "
        "closing balance. Dates are inclusive, in UTC.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): str},
        tags=[Tag.WALLET],
    )
    def get(self, request):
        query = StatementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data["from"], query.validated_data["to"]
        if request.accepted_renderer.format == "csv":
            return statement_csv(
                _wallet(request),
                since=since,
                until=until,
                filename=f"statement-{since}-{until}.csv",
            )
        return StreamingHttpResponse(
            _json_statement(_wallet(request), since, until), content_type="application/json"
        )


def _json_statement(wallet, since, until):
    """The statement as one JSON object, written piece by piece (never all in memory)."""
    found = selectors.statement(wallet=wallet, since=since, until=until)
    yield f'{{"from": "{since}", "to": "{until}", "opening_balance": {found.opening_balance}, '
    yield '"movements": ['
    for index, row in enumerate(found.rows):
        movement = row._asdict()
        movement["created_at"] = row.created_at.isoformat().replace("+00:00", "Z")
        yield ("," if index else "") + json.dumps(movement)
    yield f'], "closing_balance": {found.closing_balance}}}'


SPEND_EXAMPLE = OpenApiExample(
    "A spend",
    value={
        "amount": 120,
        "description": "Logo design",
        "reference": "job-42",
        "metadata": {"order": "A-1009"},
    },
    request_only=True,
)


class SpendView(APIView):
    required_scopes = {"POST": "credits:spend"}

    @extend_schema(
        summary="Spend credits",
        description="Takes credits from the wallet, block by block in burn-down order. Refused "
        "(422) when more than is available is asked or the wallet is not active. The answer "
        "has the wallet's new `balance` and `available`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=SpendRequest,
        responses={201: WalletFiguresSerializer, **REFUSALS},
        examples=[SPEND_EXAMPLE],
        tags=[Tag.TRANSACTIONS],
    )
    @idempotent(created(WalletFiguresSerializer))
    def post(self, request):
        data = valid_data(SpendRequest, request)
        return services.spend(
            wallet=_wallet(request),
            amount=data["amount"],
            description=data["description"],
            reference=Reference(text=data["reference"]),
            metadata=data.get("metadata"),
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )


PLACED_HOLD = created(PlacedHoldSerializer)  # made once: it keeps one serializer (represent)


class HoldView(APIView):
    required_scopes = {"POST": "credits:hold"}

    @extend_schema(
        summary="Reserve credits (open a hold)",
        description="Reserves credits for work in progress; capture them later, in parts or at "
        "once, or release them. The answer has the wallet's `balance` and new `available`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=HoldRequest,
        responses={201: PlacedHoldSerializer, **REFUSALS},
        examples=[SPEND_EXAMPLE],
        tags=[Tag.HOLDS],
    )
    @idempotent(lambda txn: PLACED_HOLD(txn.hold))
    def post(self, request):
        data = valid_data(HoldRequest, request)
        return services.hold(
            wallet=_wallet(request),
            amount=data["amount"],
            description=data["description"],
            reference=Reference(text=data["reference"]),
            metadata=data.get("metadata"),
            expires_at=data.get("expires_at"),
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )


def _own_hold(request, hold_id: int) -> Hold:
    """The caller's hold to settle; a partner app's own holds only (selectors.hold_to_settle)."""
    hold = selectors.hold_to_settle(
        wallet=_wallet(request), hold_id=hold_id, actor=actor_for(request)
    )
    if hold is None:
        raise Http404
    return hold


class CaptureView(APIView):
    required_scopes = {"POST": "credits:hold"}

    @extend_schema(
        summary="Capture a hold",
        description="Spends reserved credits. With `final` (the default) the hold closes and the "
        "rest goes back to the blocks it came from. The answer has the wallet's new `balance` "
        "and `available`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=CaptureRequest,
        responses={200: WalletFiguresSerializer, **REFUSALS},
        tags=[Tag.HOLDS],
    )
    @idempotent(ok(WalletFiguresSerializer))
    def post(self, request, hold_id: int):
        hold = _own_hold(request, hold_id)
        data = valid_data(CaptureRequest, request)
        return services.capture(
            hold=hold,
            amount=data.get("amount"),
            final=data["final"],
            description=data["description"],
            metadata=data.get("metadata"),
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )


class ReleaseView(APIView):
    required_scopes = {"POST": "credits:hold"}

    @extend_schema(
        summary="Release a hold",
        description="Gives what the hold still reserves back to the blocks it came from.",
        parameters=[IDEMPOTENCY_HEADER],
        request=ReleaseRequest,
        responses={200: TransactionSerializer, **REFUSALS},
        tags=[Tag.HOLDS],
    )
    @idempotent(ok(TransactionSerializer))
    def post(self, request, hold_id: int):
        valid_data(ReleaseRequest, request)  # no field: anything sent is a 400, not ignored
        return services.release(
            hold=_own_hold(request, hold_id),
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )


class RefundView(APIView):
    """A partner app gives back what it charged. Partner apps only: a person refunding their own
    spend would be printing credits (staff refund through the admin)."""

    required_scopes = {"POST": "credits:refund"}
    permission_classes = [*APIView.permission_classes, PartnersOnly]

    @extend_schema(
        summary="Refund a charge (partner apps)",
        description="For partner apps with the `credits:refund` scope, acting for a user: gives "
        "back all (no `amount`) or part of a spend or capture this app itself charged this "
        "user, up to what is left to refund. Another app's charge, or the user's own, is a 404. "
        "A person's own token or session is refused (403 `partner_only`). A refund does not "
        "give room back under the spending cap. The answer has the wallet's new `balance` and "
        "`available`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=RefundRequest,
        responses={201: WalletFiguresSerializer, **REFUSALS},
        # Only a partner app's OAuth token (integrations.schema names the scheme "oauth2").
        auth=[{"oauth2": ["credits:refund"]}],
        tags=[Tag.TRANSACTIONS],
    )
    @idempotent(created(WalletFiguresSerializer))
    def post(self, request, transaction_id: int):
        charge = selectors.charge_to_refund(
            wallet=_wallet(request), transaction_id=transaction_id, actor=actor_for(request)
        )
        if charge is None:
            raise Http404
        data = valid_data(RefundRequest, request)
        return services.refund(
            transaction=charge,
            amount=data.get("amount"),
            description=data["reason"],
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )


class TransferView(APIView):
    @extend_schema(
        summary="Transfer paid credits to another user",
        description="Promotional credits cannot be transferred; the receiver's credits keep "
        "their expiry; a daily limit applies. Each user may look up a limited number of "
        "different receiver addresses an hour (TRANSFER_RECEIVER_LOOKUPS_PER_HOUR); past it, "
        "every new address is answered 429, whether or not it has an account. The answer has "
        "the sender's new `balance` and `available`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=TransferRequest,
        responses={
            201: WalletFiguresSerializer,
            **REFUSALS,
            429: OpenApiResponse(
                ErrorResponse429Serializer,
                description="Too many different receivers looked up in the last hour; the "
                "Retry-After header says after how many seconds to try again. Nothing was "
                "done, so the same Idempotency-Key may be sent again.",
            ),
        },
        tags=[Tag.TRANSFERS],
    )
    @idempotent(created(WalletFiguresSerializer))
    def post(self, request):
        data = valid_data(TransferRequest, request)
        try:
            receiver = lookups.find_receiver(sender=request.user, email=data["receiver_email"])
        except ReceiverNotFound as refusal:
            raise ValidationError({"receiver_email": refusal.message}) from refusal
        except ReceiverLookupsExhausted as refusal:
            raise Throttled(wait=refusal.retry_after, detail=refusal.message) from refusal
        return services.transfer(
            sender=_wallet(request),
            receiver=receiver.wallet,
            amount=data["amount"],
            description=data["description"],
            metadata=data.get("metadata"),
            actor=actor_for(request),
            idempotency_key=request.idempotency_key,
        )
