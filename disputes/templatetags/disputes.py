"""`{% dispute_action txn user %}`: the transaction page's "Dispute this charge", or why not.

A template tag, so the credits app's page can offer it without credits importing disputes.
"""

from django import template

from disputes import services

register = template.Library()


@register.inclusion_tag("disputes/_dispute_action.html")
def dispute_action(txn, user) -> dict:
    if txn.kind not in services.DISPUTABLE_KINDS:
        return {"show": False}
    active = txn.disputes.filter(user=user).order_by("-created_at").first()
    return {
        "show": True,
        "txn": txn,
        "dispute": active,
        "refusal": services.why_not_disputable(user=user, txn=txn),
    }
