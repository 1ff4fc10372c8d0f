"""A partner app's own endpoints, called with its API key (`partner_acts_as = "app"`): the users
who consented and their cap use, its usage per day, its holds and its charges. Only the app's
own: every query starts from the app the key belongs to."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.filters import IdFilter, StrictFilterSet, UtcDateTimeFilter
from core.api.pagination import page_size_errors
from core.api.permissions import AnyScope
from core.api.tags import Tag
from credits.models import CreditTransaction, Hold
from integrations import selectors
from integrations.api.serializers import (
    AppHoldSerializer,
    ChargeSerializer,
    ConsentSerializer,
    UsageQuery,
    UsageSerializer,
)
from integrations.models import Consent


class AppView:
    """The app's own endpoints: API keys only; `self.app` is the key's app."""

    partner_acts_as = "app"

    @property
    def app(self):
        return self.request.auth.app


@extend_schema(
    summary="Users who consented to the app",
    description="Each live consent: the user's id, their e-mail address if they gave the "
    "`email` scope, the scopes, the spending cap and what the app used of it in the last 30 "
    "days. Needs an API key with `credits:read`.",
    tags=[Tag.APP],
)
@page_size_errors
class ConsentListView(AppView, generics.ListAPIView):
    required_scopes = {"GET": "credits:read"}
    serializer_class = ConsentSerializer
    queryset = Consent.objects.none()  # for the schema; get_queryset gives the app's

    def get_queryset(self):
        return selectors.consents_of(self.app)

    def paginate_queryset(self, queryset):
        return selectors.with_cap_use(super().paginate_queryset(queryset))


@extend_validation_errors(["invalid"], field_name="from", methods=["get"])
@extend_validation_errors(["invalid"], field_name="to", methods=["get"])
class UsageView(AppView, APIView):
    required_scopes = {"GET": "usage:read"}

    @extend_schema(
        summary="The app's usage per day",
        description="For each UTC day from `from` to `to` (inclusive; default the last 30 "
        "days, at most 366): the calls it made and how many failed, by class; the credits it "
        "held, captured, spent and refunded (from the ledger); the users it called for. Needs "
        "an API key with `usage:read`.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="Default: 29 days before to."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Default: today (UTC)."),
        ],
        responses=UsageSerializer,
        tags=[Tag.APP],
    )
    def get(self, request):
        query = UsageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data["from"], query.validated_data["to"]
        days = selectors.usage(self.app, since=since, until=until)
        return Response(UsageSerializer({"from": since, "to": until, "days": days}).data)


class HoldFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Hold.Status.choices)

    class Meta:
        model = Hold
        fields = ["status"]


@extend_schema(
    summary="The app's holds",
    description="Holds the app placed, on every user's wallet, newest first; `status` filters. "
    "Needs an API key with `credits:hold` or `credits:read`.",
    tags=[Tag.APP],
)
@page_size_errors
class HoldListView(AppView, generics.ListAPIView):
    required_scopes = {"GET": AnyScope("credits:hold", "credits:read")}
    serializer_class = AppHoldSerializer
    filterset_class = HoldFilter
    queryset = Hold.objects.none()  # for the schema; get_queryset gives the app's

    def get_queryset(self):
        return selectors.holds_of(self.app)


class ChargeFilter(StrictFilterSet):
    kind = django_filters.ChoiceFilter(
        choices=[(kind.value, kind.label) for kind in selectors.CHARGE_KINDS]
    )
    user = IdFilter(field_name="wallet__user_id", help_text="A user's id.")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = CreditTransaction
        fields = ["kind", "user", "created_after", "created_before"]


@extend_schema(
    summary="The app's charges and refunds",
    description="Every spend, capture and refund the app asked for, newest first; filter by "
    "`kind`, `user` and time. Needs an API key with `credits:read`.",
    tags=[Tag.APP],
)
@page_size_errors
class ChargeListView(AppView, generics.ListAPIView):
    required_scopes = {"GET": "credits:read"}
    serializer_class = ChargeSerializer
    filterset_class = ChargeFilter
    queryset = CreditTransaction.objects.none()  # for the schema; get_queryset gives the app's

    def get_queryset(self):
        return selectors.charges_of(self.app)
