from django.urls import path

from integrations import account_views

app_name = "connected_apps"

urlpatterns = [
    path("revoke/", account_views.revoke, name="revoke"),
]
