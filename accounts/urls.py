from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/api-token/", views.rotate_api_token, name="rotate-api-token"),
    path("profile/api-token/revoke/", views.revoke_api_token, name="revoke-api-token"),
]
