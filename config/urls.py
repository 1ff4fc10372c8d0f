from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config import admin_index, views

# Staff sign in through allauth like everyone else: one place for rate limits and two-factor.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "CreditDesk administration"
admin.site.site_title = "CreditDesk admin"
admin.site.get_app_list = admin_index.grouped(admin.site.get_app_list)

api_v1 = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("", include("accounts.api.urls")),
    path("", include("credits.api.urls")),
    # Each app's user endpoints, and its staff endpoints under admin/ (its api/urls.py).
    path("", include("disputes.api.urls")),
    path("", include("jobs.api.files")),
    path("", include("jobs.api.urls")),
    # A partner app's own endpoints, with its API key (app/…).
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for it on pages that name no icon (Swagger UI's, a JSON response).
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # Before allauth's: our TOTP activation, which then counts as the session's second factor.
    path("accounts/", include("accounts.allauth_urls")),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", include("credits.urls")),
    path("billing/", include("billing.urls")),
    # Stripe's webhooks arrive at /stripe/webhook/<endpoint uuid>/ (dj-stripe checks signatures).
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("jobs/", include("jobs.urls")),
    path("disputes/", include("disputes.urls")),
    # Partner apps' OAuth 2 / OpenID Connect provider: /o/… and /.well-known/… (its namespace is
    # django-oauth-toolkit's, oauth2_provider); a user's connected apps under accounts/apps/.
    path("", include("integrations.oauth_urls")),
    path("accounts/apps/", include("integrations.account_urls")),
    # Which e-mails a user gets, and those sent lately (notifications).
    path("accounts/notifications/", include("notifications.urls")),
    # Partner apps' developers: their apps and keys (integrations; docs/partners.md).
    path("developers/", include("integrations.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", views.SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from /api/docs/?script, so the page
    # needs no inline script under the Content-Security-Policy.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/docs.html"),
        name="api-docs",
    ),
    # Last: whatever else is asked under /api/ is a 404 in the API's error shape.
    re_path(r"^api/(?P<path>.*)$", views.api_not_found),
]

handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
