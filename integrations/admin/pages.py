"""What the partner apps' admin pages share: the step page (a form with a reason, a key's
details), the page that shows a secret once, and small tables of read-only rows."""

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integrations.models import AppKey, PartnerApp


class StepPages:
    """Pages of a ModelAdmin for PartnerApp, beside its change form."""

    @staticmethod
    def change_url(app: PartnerApp) -> str:
        return reverse("admin:integrations_partnerapp_change", args=[app.pk])

    def step_page(self, request, title: str, form, *, app=None, apps_shown=(), upload=False):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "app": app,
            "apps_shown": apps_shown,
            "upload": upload,
        }
        return TemplateResponse(request, "admin/integrations/partnerapp/step.html", context)

    def secret_page(self, request, app: PartnerApp, what: str, secret: str) -> HttpResponse:
        """A secret in this response only: stored nowhere but as a hash, never shown again."""
        context = {
            **self.admin_site.each_context(request),
            "title": what,
            "opts": self.model._meta,
            "app": app,
            "secret": secret,
        }
        return TemplateResponse(request, "admin/integrations/partnerapp/secret.html", context)


def when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def key_state(key: AppKey, usable: bool) -> str:
    if key.revoked_at:
        return "revoked"
    if not usable:
        return "expired"
    return "rotated: works until it expires" if key.replaced_by_id else "in use"


def table(headers: list[str], rows: list[tuple]) -> str:
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th scope='col'>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
