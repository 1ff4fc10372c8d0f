from django.urls import path

from credits import views

app_name = "credits"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("history/", views.history, name="history"),
    path("transactions/<int:transaction_id>/", views.transaction_detail, name="transaction"),
    path("statement/", views.statement, name="statement"),
    path("blocks/", views.credit_blocks, name="blocks"),
    path("transfer/", views.transfer, name="transfer"),
    path("transfer/confirm/", views.transfer_confirm, name="transfer-confirm"),
    path("alerts/", views.balance_alerts, name="alerts"),
]
