"""`{% status_badge job_or_milestone %}` and `{% priority_badge job %}`: the one badge of each
kind every jobs page shows (the status in words, so colour is never the only sign).
`{% dispute_url milestone as url %}`: the disputes app's page for a milestone, or "" while that
page does not exist (the jobs app does not import disputes)."""

from django import template
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("jobs/_badge.html")
def status_badge(thing) -> dict:
    return {"kind": "status", "value": thing.status, "label": thing.get_status_display()}


@register.inclusion_tag("jobs/_badge.html")
def priority_badge(job) -> dict:
    return {
        "kind": "priority",
        "value": job.priority,
        "label": f"{job.get_priority_display()} priority",
    }


@register.simple_tag
def dispute_url(milestone) -> str:
    """Where the client disputes a delivery: the disputes app's page (its one dispute model and
    queue), named by URL so the jobs app imports nothing of it."""
    return reverse("disputes:open-milestone", args=[milestone.pk])
