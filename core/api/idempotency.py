"""The Idempotency-Key header: one rule for it, its schema parameter, and reading it.

What a key does (replay, conflict, storage with the work) is the ledger's: credits.api.idempotency.
"""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from core.api.schema import IDEMPOTENCY_KEY_HEADER

# One limit, the API's: 1 to 200 visible ASCII characters (the ledger's own keys hold 255).
IDEMPOTENCY_KEY_MAX_LENGTH = 200
IDEMPOTENCY_KEY = re.compile(rf"[!-~]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")
IDEMPOTENCY_KEY_RULE = (
    f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, without spaces (a UUID is "
    "a good key)"
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    name=IDEMPOTENCY_KEY_HEADER,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        "pattern": "^[!-~]+$",
    },
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        f"A unique key per operation: {IDEMPOTENCY_KEY_RULE}. Retrying with the same key and "
        "body replays the first response and does nothing again; the same key with another "
        "body is refused (409). A missing key, or one that breaks this rule, is a 400 "
        f"validation error with `attr` `{IDEMPOTENCY_KEY_HEADER}` (code `required` or "
        "`invalid`), and nothing is done."
    ),
)


def idempotency_key(request) -> str:
    """The request's Idempotency-Key, or a 400 naming the header and the rule it breaks."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        message, code = (
            f"An {IDEMPOTENCY_KEY_HEADER} header is required: {IDEMPOTENCY_KEY_RULE}.",
            "required",
        )
    elif not IDEMPOTENCY_KEY.fullmatch(key):
        message, code = f"The {IDEMPOTENCY_KEY_HEADER} must be {IDEMPOTENCY_KEY_RULE}.", "invalid"
    else:
        return key
    raise exceptions.ValidationError({IDEMPOTENCY_KEY_HEADER: [ErrorDetail(message, code=code)]})
