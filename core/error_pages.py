"""The site's own page for a method an address does not take (405).

Django's `require_POST` and class-based views answer a browser's GET with an empty 405, which a
browser shows as a blank page. Pages get ours, through the base layout; the API keeps its own
answer in the error shape.
"""

from django.shortcuts import render

from core.api.responses import API_PREFIX


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith(API_PREFIX):
            return response
        allowed = response.get("Allow", "")
        page = render(request, "405.html", {"allowed": allowed.replace(",", " or")}, status=405)
        if allowed:
            page["Allow"] = allowed
        return page
