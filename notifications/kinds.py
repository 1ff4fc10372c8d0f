"""The kinds of e-mail a person gets, and which event is which kind: the one mapping.

A user turns kinds off on the notifications page (a NotificationOptOut row per kind turned off);
receipts and security notices are always sent. Spends and holds mail nobody: the spend hot path
writes no event for e-mail.
"""

from django.db import models


class Kind(models.TextChoices):
    CREDITS_RECEIVED = "credits_received", "Credits received"
    EXPIRY_WARNINGS = "expiry_warnings", "Expiry warnings"
    LOW_BALANCE = "low_balance", "Low balance"
    PURCHASE_RECEIPTS = "purchase_receipts", "Purchase receipts"
    SUBSCRIPTION_RENEWALS = "subscription_renewals", "Subscription renewals"
    WALLET_STATUS = "wallet_status", "Wallet status (security)"
    DISPUTES = "disputes", "Disputes"
    JOBS = "jobs", "Jobs"
    PARTNER_APPS = "partner_apps", "Partner app notices"


# One line each, shown beside the kind's checkbox.
EXPLANATIONS = {
    Kind.CREDITS_RECEIVED: "Credits a transfer, a staff grant or a refund added to your wallet.",
    Kind.EXPIRY_WARNINGS: "Credits that expire in 7 days, and again the day before.",
    Kind.LOW_BALANCE: "Your balance fell below, or climbed back above, a threshold you set.",
    Kind.PURCHASE_RECEIPTS: "A receipt for each payment and refund.",
    Kind.SUBSCRIPTION_RENEWALS: "Each renewal of your plan and the credits it brought.",
    Kind.WALLET_STATUS: "Your wallet was frozen, suspended or reactivated.",
    Kind.DISPUTES: "Each step of a dispute: received, under review, questions, decisions.",
    Kind.JOBS: "Each step of a job: work started, deliveries, acceptances, reminders.",
    Kind.PARTNER_APPS: "A webhook endpoint of a partner app you own stopped receiving events.",
}

# Kinds nobody can turn off, and why (shown checked and disabled on the page).
ALWAYS_SENT = {
    Kind.PURCHASE_RECEIPTS: "Always sent: a payment needs its receipt.",
    Kind.WALLET_STATUS: "Always sent: a change to your wallet's access is a security notice.",
    Kind.PARTNER_APPS: "Always sent: your app has stopped receiving events.",
}

KIND_FOR_EVENT: dict[str, Kind] = {
    # Only a staff grant (source "admin"): a purchase's credits come with its receipt, a plan's
    # with its renewal notice, a promotion's on the page that redeemed it (audiences.py).
    "credits.granted": Kind.CREDITS_RECEIVED,
    "credits.refunded": Kind.CREDITS_RECEIVED,
    "transfer.received": Kind.CREDITS_RECEIVED,
    "credits.expiring": Kind.EXPIRY_WARNINGS,
    "balance.low": Kind.LOW_BALANCE,
    "balance.recovered": Kind.LOW_BALANCE,
    "wallet.status_changed": Kind.WALLET_STATUS,
    "purchase.paid": Kind.PURCHASE_RECEIPTS,
    "purchase.refunded": Kind.PURCHASE_RECEIPTS,
    "subscription.renewed": Kind.SUBSCRIPTION_RENEWALS,
    "dispute.opened": Kind.DISPUTES,
    "dispute.updated": Kind.DISPUTES,
    "dispute.resolved": Kind.DISPUTES,
    "job.opened": Kind.JOBS,
    "job.updated": Kind.JOBS,
    "milestone.delivered": Kind.JOBS,
    "milestone.accepted": Kind.JOBS,
    "milestone.disputed": Kind.JOBS,
    "webhook.endpoint_disabled": Kind.PARTNER_APPS,
}

# Steps of a dispute or job whose `data` names their recipients (`notify`: "user", the one the
# event is about, or "team", the staff in `recipient_ids`).
STEP_TYPES = frozenset(
    name for name, kind in KIND_FOR_EVENT.items() if kind in (Kind.DISPUTES, Kind.JOBS)
)
