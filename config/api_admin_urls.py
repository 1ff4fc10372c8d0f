"""Staff endpoints, under /api/v1/admin/."""

from django.urls import path

from credits.api import admin as credits_admin
from disputes.api.urls import admin_urlpatterns as dispute_urls

urlpatterns = [
    path("wallets", credits_admin.StaffWalletListView.as_view(), name="admin-wallets"),
    path(
        "wallets/<int:wallet_id>",
        credits_admin.StaffWalletDetailView.as_view(),
        name="admin-wallet",
    ),
    path(
        "wallets/<int:wallet_id>/grants",
        credits_admin.StaffGrantView.as_view(),
        name="admin-wallet-grants",
    ),
    path(
        "wallets/<int:wallet_id>/deductions",
        credits_admin.StaffDeductView.as_view(),
        name="admin-wallet-deductions",
    ),
    path(
        "wallets/<int:wallet_id>/status",
        credits_admin.StaffStatusView.as_view(),
        name="admin-wallet-status",
    ),
    path("approvals", credits_admin.StaffApprovalListView.as_view(), name="admin-approvals"),
    path(
        "approvals/<int:approval_id>/approve",
        credits_admin.StaffApproveView.as_view(),
        name="admin-approval-approve",
    ),
    path(
        "approvals/<int:approval_id>/refuse",
        credits_admin.StaffRefuseView.as_view(),
        name="admin-approval-refuse",
    ),
    *dispute_urls,
]
