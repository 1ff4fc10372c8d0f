"""Once a partner call is answered: its RateLimit headers, and one count in the app's usage.

Authentication marks a partner call on the request (integrations.authentication.admit); the
status is known only here, after the view, its exception handler and every refusal. Counting
never fails the call: an error is logged and the answer goes out as it was.
"""

import logging

from integrations.services import usage

logger = logging.getLogger(__name__)


class PartnerTrafficMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        call = getattr(request, "partner_call", None)
        if call is None:
            return response
        # The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers): limit, what is left,
        # seconds until the window starts again.
        response["RateLimit-Limit"] = str(call.window.limit)
        response["RateLimit-Remaining"] = str(call.window.remaining)
        response["RateLimit-Reset"] = str(call.window.reset)
        try:
            usage.count_call(app_id=call.app_id, user_id=call.user_id, status=response.status_code)
        except Exception:
            logger.exception("Could not count a call of partner app %s", call.app_id)
        return response
