"""`{% front_overview %}`: the admin front page's overview (analytics.front), computed only on
the page that shows it (templates/admin/index.html)."""

from django import template

from analytics.front import overview

register = template.Library()


@register.inclusion_tag("admin/analytics/front_overview.html", takes_context=True)
def front_overview(context) -> dict:
    return {"overview": overview(context["request"].user)}
