from django.urls import path

from integrations import views, webhook_views

app_name = "developers"

urlpatterns = [
    path("", views.index, name="index"),
    path("apps/new/", views.register, name="register"),
    path("callback/", views.callback, name="callback"),
    path("apps/<int:app_id>/", views.app_detail, name="app"),
    path("apps/<int:app_id>/edit/", views.edit, name="edit"),
    path("apps/<int:app_id>/logo/", views.logo, name="logo"),
    path("apps/<int:app_id>/keys/new/", views.create_key, name="create-key"),
    path("apps/<int:app_id>/keys/<int:key_id>/rotate/", views.rotate_key, name="rotate-key"),
    path("apps/<int:app_id>/keys/<int:key_id>/revoke/", views.revoke_key, name="revoke-key"),
    path("apps/<int:app_id>/webhooks/new/", webhook_views.create, name="webhook-new"),
    path("apps/<int:app_id>/webhooks/<int:endpoint_id>/", webhook_views.detail, name="webhook"),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/rotate/",
        webhook_views.rotate,
        name="webhook-rotate",
    ),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/disable/",
        webhook_views.toggle,
        {"step": "disable"},
        name="webhook-disable",
    ),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/enable/",
        webhook_views.toggle,
        {"step": "enable"},
        name="webhook-enable",
    ),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/delete/",
        webhook_views.delete,
        name="webhook-delete",
    ),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/",
        webhook_views.resend,
        name="webhook-resend",
    ),
    path(
        "apps/<int:app_id>/webhooks/<int:endpoint_id>/resend-since/",
        webhook_views.resend_since,
        name="webhook-resend-since",
    ),
    path("demo-webhook-receiver/", webhook_views.demo_receiver, name="demo-webhook-receiver"),
]
