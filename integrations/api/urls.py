"""A partner app's own addresses (with its API key), under app/; config/urls.py includes this
module under /api/v1/."""

from django.urls import include, path

from integrations.api import views

app_urlpatterns = [
    path("consents", views.ConsentListView.as_view(), name="app-consents"),
    path("usage", views.UsageView.as_view(), name="app-usage"),
    path("holds", views.HoldListView.as_view(), name="app-holds"),
    path("charges", views.ChargeListView.as_view(), name="app-charges"),
]

urlpatterns = [path("app/", include(app_urlpatterns))]
