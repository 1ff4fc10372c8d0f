from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache

from core.once import OnceToken
from core.pagination import paginate
from notifications import selectors, services
from notifications.forms import ChoicesForm

ONCE_DONE = "once_done.html"


def account_section(request: HttpRequest) -> str:
    """The Account page's "E-mail notifications" section."""
    return render_to_string("notifications/account_section.html", request=request)


@never_cache
def choices(request: HttpRequest) -> HttpResponse:
    """Which e-mails the user gets, and the ones sent lately."""
    once = OnceToken(request, purpose="notifications.choices")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    # Bound on every POST: a form with every box unticked sends no field at all.
    sent = request.POST if request.method == "POST" else None
    form = ChoicesForm(sent, turned_off=selectors.turned_off(user=request.user))
    if request.method == "POST" and form.is_valid():
        services.choose(user=request.user, wanted=form.wanted())
        url = reverse("notifications:settings")
        once.complete(url=url, label="your e-mail choices were saved")
        messages.success(request, "Your e-mail choices have been saved.")
        return redirect(url)
    page = paginate(request, selectors.sent_notices(user=request.user))
    return render(request, "notifications/choices.html", {"form": form, "page": page})
