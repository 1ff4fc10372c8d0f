"""`{% dispute_action txn user %}`: the transaction page's "Dispute this charge", or why not.
`{% milestone_dispute_action milestone user %}`: the job page's "Dispute this delivery" for the
client of a delivered milestone, and a link to its dispute once there is one.
`{{ delta|waited }}`: a time span as staff read it ("2 d 3 h").
`{{ dispute|status_for_owner }}`: the status as the user who opened it reads it.

Template tags, so the credits and jobs apps' pages can offer them without importing disputes.
"""

from datetime import timedelta

from django import template

from disputes import selectors, services
from disputes.models import Dispute

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


@register.inclusion_tag("disputes/_milestone_dispute_action.html")
def milestone_dispute_action(milestone, user) -> dict:
    if milestone.job.client_id != user.pk:
        return {"show": False}
    dispute = milestone.disputes.order_by("-created_at").first()
    may_open = services.why_milestone_not_disputable(user=user, milestone=milestone) is None
    return {
        "show": may_open or dispute is not None,
        "milestone": milestone,
        "dispute": dispute,
        "may_open": may_open,
    }


# Where the user's wording differs from the status's own (staff's): it is their move.
OWNER_WORDING = {Dispute.Status.AWAITING_USER: "Waiting for your reply"}


@register.filter
def status_for_owner(dispute: Dispute) -> str:
    return OWNER_WORDING.get(dispute.status, dispute.get_status_display())


@register.filter
def waited(delta: timedelta | None) -> str:
    """Days and hours, or hours and minutes when under a day; "—" for none."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


@register.simple_tag
def has_something_to_dispute(user) -> bool:
    """For the dashboard: offer disputes only to a user who has something to dispute."""
    return selectors.has_something_to_dispute(user)
