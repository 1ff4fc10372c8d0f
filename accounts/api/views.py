from drf_spectacular.utils import extend_schema
from rest_framework.generics import RetrieveAPIView

from accounts.api.serializers import MeSerializer
from core.api.tags import Tag


@extend_schema(
    summary="The signed-in user",
    description="Who the credentials belong to: a quick way to check a token works. A partner "
    "app's token needs the `openid` scope (this is the API's userinfo) and is told only what "
    "the user let it see: `name` with `profile`, `email` with `email`; a field it may not see "
    "is left out of the answer.",
    tags=[Tag.ACCOUNT],
)
class MeView(RetrieveAPIView):
    # What a partner app needs (docs/partners.md); `profile` and `email` widen the answer.
    required_scopes = {"GET": "openid"}
    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user
