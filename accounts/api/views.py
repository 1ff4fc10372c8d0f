from drf_spectacular.utils import extend_schema
from rest_framework.generics import RetrieveAPIView

from accounts.api.serializers import MeSerializer
from core.api.tags import Tag


@extend_schema(
    summary="The signed-in user",
    description="Who the credentials belong to: a quick way to check a token works.",
    tags=[Tag.ACCOUNT],
)
class MeView(RetrieveAPIView):
    required_scopes = {"GET": "profile"}  # what a partner app needs (docs/partners.md)
    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user
