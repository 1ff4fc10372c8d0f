"""The OAuth 2 / OpenID Connect pages and endpoints that are CreditDesk's own: the consent page
(django-oauth-toolkit's AuthorizationView with our rules), introspection for the apps staff
allow, and an app's logo. The rest are django-oauth-toolkit's views (integrations.oauth_urls).
"""

import json
import mimetypes
from urllib.parse import urlsplit

from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.views import AuthorizationView, IntrospectTokenView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from integrations import scopes
from integrations.consent_form import ConsentForm
from integrations.errors import InvalidApp
from integrations.models import PartnerApp
from integrations.services import consents

LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}


class ConsentView(AuthorizationView):
    """/o/authorize/: the user lets an app act for them, with a spending cap.

    An app that is not approved gets an error page, never a redirect. A live consent that
    already covers the scopes asked for skips the page (unless the app asks `prompt=consent`);
    wider scopes ask again. Allow gives the consent (integrations.services.consents.give) and
    django-oauth-toolkit issues the code, in one transaction; Deny sends `access_denied` back.
    """

    template_name = "integrations/consent.html"
    error_template_name = "integrations/authorize_error.html"
    form_class = ConsentForm

    app: PartnerApp | None = None

    def get(self, request, *args, **kwargs):
        refusal = self._refuse_unapproved(request.GET.get("client_id"))
        if refusal is not None:
            return refusal
        try:
            scope_names, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = set(request.GET.get("prompt", "").split())
        if "login" in prompt:
            return self.handle_prompt_login()
        self.app = PartnerApp.objects.select_related("user").get(client_id=credentials["client_id"])
        if credentials.get("code_challenge_method") != "S256":
            # oauthlib accepts `plain` here and django-oauth-toolkit refuses it only after the
            # user allowed: refuse it before asking anything.
            return self._refuse(
                oauth_errors.InvalidRequestError(
                    description='PKCE with code_challenge_method "S256" is required.',
                    state=credentials.get("state"),
                ),
                credentials,
            )
        if isinstance(credentials.get("ui_locales"), list):
            credentials["ui_locales"] = " ".join(credentials["ui_locales"])

        consent = consents.live_consent(app=self.app, user=request.user)
        if "consent" not in prompt and consents.covers(consent, wanted_scopes=scope_names):
            return self._authorize(scope_names, credentials)
        if "none" in prompt:
            return self._refuse(
                oidc_errors.ConsentRequired(state=credentials.get("state")), credentials
            )

        self.oauth2_data = {
            **credentials,
            "scopes": scope_names,
            "claims": json.dumps(credentials["claims"]) if credentials.get("claims") else None,
        }
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        client_id = request.POST.get("client_id")
        refusal = self._refuse_unapproved(client_id)
        if refusal is not None:
            return refusal
        self.app = PartnerApp.objects.select_related("user").filter(client_id=client_id).first()
        if self.app is None:
            return self._error_page(
                "The sign-in request names no app CreditDesk knows.", status=400
            )
        return super().post(request, *args, **kwargs)

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        # Browsers hold the redirect after a form's post to the page's form-action too: the
        # consent form's answer goes to the app's redirect URI (validated by then).
        form = context.get("form")
        redirect_uri = form["redirect_uri"].value() if form is not None else None
        if self.app is not None and redirect_uri and self.app.redirect_uri_allowed(redirect_uri):
            parts = urlsplit(redirect_uri)
            response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
        return response

    def get_form_kwargs(self):
        earlier = consents.live_consent(app=self.app, user=self.request.user)
        return {
            **super().get_form_kwargs(),
            "app": self.app,
            "current_cap": earlier.cap if earlier is not None else None,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context.update(
            application=self.app,
            scopes=scopes.described(form["scope"].value() or ""),
            charging=form.charging,
        )
        return context

    def form_valid(self, form):
        if not self.app.redirect_uri_allowed(form.cleaned_data["redirect_uri"]):
            # django-oauth-toolkit would send a Deny to whatever the hidden field says.
            return self._error_page(
                "The sign-in request names an address the app did not register.", status=400
            )
        if not form.cleaned_data.get("allow"):
            return super().form_valid(form)  # access_denied, back to the app
        with transaction.atomic():
            try:
                consents.give(
                    app=self.app,
                    user=self.request.user,
                    scope_names=form.cleaned_data["scope"],
                    cap=form.cleaned_data["cap"],
                )
            except InvalidApp as error:
                form.add_error("cap" if error.field == "cap" else None, error.message)
                return self.form_invalid(form)
            response = super().form_valid(form)
            if not self.success_url:
                # django-oauth-toolkit refused the request after all: no consent either.
                transaction.set_rollback(True)
        return response

    def error_response(self, error, application, **kwargs):
        redirect, details = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(details["url"], application)
        oauth_error = details["error"]
        return self._error_page(
            oauth_error.description or "The app's sign-in request is not valid.",
            status=oauth_error.status_code,
            code=oauth_error.error,
        )

    def _authorize(self, scope_names, credentials):
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request,
                scopes=" ".join(scope_names),
                credentials=credentials,
                allow=True,
            )
        except OAuthToolkitError as error:
            return self.error_response(error, self.app)
        return self.redirect(uri, self.app)

    def _refuse(self, oauth_error, credentials):
        oauth_error.redirect_uri = credentials["redirect_uri"]
        return self.error_response(OAuthToolkitError(error=oauth_error), self.app)

    def _refuse_unapproved(self, client_id):
        app = PartnerApp.objects.filter(client_id=client_id or "").first()
        if app is None or app.status == PartnerApp.Status.APPROVED:
            return None
        reason = {
            PartnerApp.Status.PENDING: "is waiting for CreditDesk's staff to approve it",
            PartnerApp.Status.SUSPENDED: "is suspended by CreditDesk's staff",
            PartnerApp.Status.REVOKED: "has been removed by CreditDesk's staff",
        }[app.status]
        return self._error_page(
            f"{app.name} {reason}: you cannot sign in to it with CreditDesk for now.",
            status=403,
            code="unauthorized_client",
            app=app,
        )

    def _error_page(self, message: str, *, status: int, code: str = "invalid_request", app=None):
        context = {"message": message, "code": code, "application": app}
        return render(self.request, self.error_template_name, context, status=status)


def _oauth_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """/o/introspect/ (RFC 7662): an app authenticates with its client credentials and learns
    whether a token is active. Only apps staff allow (`may_introspect`: our resource servers);
    any other app is answered 403."""

    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OAuthlibRequest(uri, http_method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            response = _oauth_error(401, "invalid_client", "Client authentication failed.")
            response["WWW-Authenticate"] = 'Basic realm="CreditDesk"'
            return response
        if not oauth_request.client.may_introspect:
            return _oauth_error(
                403, "unauthorized_client", "This app may not introspect tokens: ask CreditDesk."
            )
        return IntrospectTokenView.get_token_response(request.POST.get("token"))


def app_logo(request, client_id: str):
    """An app's logo, for the consent page and the Account page: uploads are never served
    from a public address (there is no MEDIA_URL)."""
    app = PartnerApp.objects.filter(client_id=client_id).first()
    if app is None or not app.logo:
        raise Http404("No such logo.")
    content_type, _ = mimetypes.guess_type(app.logo.name)
    if content_type not in LOGO_TYPES:
        raise Http404("No such logo.")
    return FileResponse(app.logo.open("rb"), content_type=content_type)
