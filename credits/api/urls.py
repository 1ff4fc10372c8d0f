"""The credits API's addresses: the caller's own (user_urlpatterns) and staff's, under admin/
(staff_urlpatterns); config/urls.py includes this module under /api/v1/."""

from django.urls import include, path

from credits.api import staff, views

user_urlpatterns = [
    path("wallet", views.WalletView.as_view(), name="wallet"),
    path("transactions", views.TransactionListView.as_view(), name="transactions"),
    path(
        "transactions/<int:transaction_id>",
        views.TransactionDetailView.as_view(),
        name="transaction",
    ),
    path(
        "transactions/<int:transaction_id>/refunds",
        views.RefundView.as_view(),
        name="transaction-refunds",
    ),
    path("grants", views.GrantListView.as_view(), name="grants"),
    path("statements", views.StatementView.as_view(), name="statements"),
    path("spends", views.SpendView.as_view(), name="spends"),
    path("holds", views.HoldView.as_view(), name="holds"),
    path("holds/<int:hold_id>/capture", views.CaptureView.as_view(), name="hold-capture"),
    path("holds/<int:hold_id>/release", views.ReleaseView.as_view(), name="hold-release"),
    path("transfers", views.TransferView.as_view(), name="transfers"),
]

staff_urlpatterns = [
    path("wallets", staff.StaffWalletListView.as_view(), name="admin-wallets"),
    path("wallets/<int:wallet_id>", staff.StaffWalletDetailView.as_view(), name="admin-wallet"),
    path(
        "wallets/<int:wallet_id>/grants", staff.StaffGrantView.as_view(), name="admin-wallet-grants"
    ),
    path(
        "wallets/<int:wallet_id>/deductions",
        staff.StaffDeductView.as_view(),
        name="admin-wallet-deductions",
    ),
    path(
        "wallets/<int:wallet_id>/status",
        staff.StaffStatusView.as_view(),
        name="admin-wallet-status",
    ),
    path("approvals", staff.StaffApprovalListView.as_view(), name="admin-approvals"),
    path(
        "approvals/<int:approval_id>/approve",
        staff.StaffApproveView.as_view(),
        name="admin-approval-approve",
    ),
    path(
        "approvals/<int:approval_id>/refuse",
        staff.StaffRefuseView.as_view(),
        name="admin-approval-refuse",
    ),
]

urlpatterns = [*user_urlpatterns, path("admin/", include(staff_urlpatterns))]
