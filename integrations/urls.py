from django.urls import path

from integrations import views

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
]
