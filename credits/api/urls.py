from django.urls import path

from credits.api import views

urlpatterns = [
    path("wallet", views.WalletView.as_view(), name="wallet"),
    path("transactions", views.TransactionListView.as_view(), name="transactions"),
    path(
        "transactions/<int:transaction_id>",
        views.TransactionDetailView.as_view(),
        name="transaction",
    ),
    path("grants", views.GrantListView.as_view(), name="grants"),
    path("statements", views.StatementView.as_view(), name="statements"),
    path("spends", views.SpendView.as_view(), name="spends"),
    path("holds", views.HoldView.as_view(), name="holds"),
    path("holds/<int:hold_id>/capture", views.CaptureView.as_view(), name="hold-capture"),
    path("holds/<int:hold_id>/release", views.ReleaseView.as_view(), name="hold-release"),
    path("transfers", views.TransferView.as_view(), name="transfers"),
]
