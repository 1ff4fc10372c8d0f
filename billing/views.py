"""The shop, checkout, and the buyer's purchases and subscription (thin: services decide)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import selectors, stripe_api
from billing.errors import BillingError
from billing.forms import CheckoutForm, PromoCodeForm
from billing.models import CreditPackage, Subscription
from billing.services import checkout as checkout_service
from billing.services import promotions
from core.links import site_url
from core.pagination import paginate

# htmx stops polling when a response has this status.
HTMX_STOP_POLLING = 286


@login_not_required
def shop(request: HttpRequest) -> HttpResponse:
    packages = CreditPackage.objects.filter(is_active=True)
    context = {
        "packs": [p for p in packages if not p.is_plan],
        "plans": [p for p in packages if p.is_plan],
        "payments_enabled": stripe_api.configured(),
        "subscription": (
            checkout_service.live_subscription(request.user)
            if request.user.is_authenticated
            else None
        ),
        "promo_form": PromoCodeForm(),
        # A code checked without JavaScript comes back in the address, to stay in the box.
        "code": request.GET.get("code", "")[:40],
    }
    return render(request, "billing/shop.html", context)


@require_POST
def promo_code(request: HttpRequest) -> HttpResponse:
    """The shop's one promo box: a free-credits code adds its credits now, a bonus code is
    checked and travels with the next pack bought (htmx shows the outcome in the box)."""
    form = PromoCodeForm(request.POST)
    outcome, error = None, None
    if form.is_valid():
        package = CreditPackage.objects.filter(
            pk=form.cleaned_data["package"] or 0, is_active=True
        ).first()
        try:
            outcome = promotions.apply_code(
                code=form.cleaned_data["code"], user=request.user, package=package
            )
        except BillingError as exc:
            error = exc.message
    else:
        error = _first_error(form)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"“{form.cleaned_data['code']}”: {outcome.message}.")
        return redirect("billing:shop")
    context = {"outcome": outcome, "error": error, "code": request.POST.get("code", "")}
    return render(request, "billing/_promo_result.html", context)


def _first_error(form: PromoCodeForm) -> str:
    """The promo box shows one line: the code's problem first, then the package's."""
    if "code" in form.errors:
        return (
            "Enter a promo code."
            if not form.data.get("code", "").strip()
            else "There is no promo code that long: codes have at most 40 characters."
        )
    return "Choose a pack from the list, then apply the code again."


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a package to buy.")
        return redirect("billing:shop")
    try:
        started = checkout_service.start_checkout(
            user=request.user,
            package_id=form.cleaned_data["package"],
            promo_code=form.cleaned_data["promo_code"] or "",
            base_url=site_url(),
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing:shop")
    return _see_other(started.url)


def _see_other(url: str) -> HttpResponse:
    """Leave for Stripe's page with a 303, as after any POST."""
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


def success(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    status = checkout_service.checkout_status(user=request.user, session_id=session_id)
    return render(request, "billing/success.html", {"status": status, "session_id": session_id})


def checkout_status(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    status = checkout_service.checkout_status(user=request.user, session_id=session_id)
    response = render(
        request, "billing/_checkout_status.html", {"status": status, "session_id": session_id}
    )
    if status.done:
        response.status_code = HTMX_STOP_POLLING if request.htmx else 200
    return response


def cancel(request: HttpRequest) -> HttpResponse:
    """Where Stripe's "back" link lands (the session's cancel_url): a GET only shows the checkout
    and a button; the POST closes it. A GET that cancelled could be sent by any site's <img>.
    A checkout left open closes by itself when Stripe expires it (checkout.session.expired)."""
    if request.method == "POST":
        checkout_service.cancel_checkout(
            user=request.user, purchase_id=request.POST.get("purchase", "")
        )
        messages.info(request, "Checkout cancelled: nothing was charged.")
        return redirect("billing:shop")
    purchase = selectors.pending_purchase(request.user, request.GET.get("purchase", ""))
    return render(request, "billing/cancel.html", {"purchase": purchase})


def purchases(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.purchases_of(request.user))
    # The latest periods: every period is on My subscription too.
    invoices = selectors.subscription_invoices_of(request.user)[:12]
    return render(request, "billing/purchases.html", {"page": page, "invoices": invoices})


def subscription(request: HttpRequest) -> HttpResponse:
    current = (
        checkout_service.live_subscription(request.user)
        or Subscription.objects.filter(user=request.user).first()
    )
    invoices = current.invoices.all()[:12] if current else []
    context = {
        "subscription": current,
        "invoices": invoices,
        "payments_enabled": stripe_api.configured(),
    }
    return render(request, "billing/subscription.html", context)


@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    try:
        url = checkout_service.open_portal(
            user=request.user, return_url=site_url() + reverse("billing:subscription")
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing:subscription")
    return _see_other(url)
