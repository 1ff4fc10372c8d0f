"""The user's wallet pages: dashboard, history, a transaction, statements, credit blocks, transfer,
low-balance alerts.

Thin views: selectors read, services write; each page runs a fixed number of queries whatever
the length of the history.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core import figures
from core.once import OnceToken
from credits import selectors, services
from credits.actors import Actor
from credits.chart import monthly_chart
from credits.errors import CreditError
from credits.forms import (
    HistoryFilterForm,
    StatementForm,
    ThresholdsForm,
    TransferForm,
    refusal_text,
)
from credits.models import Wallet
from credits.statements import statement_csv

RECENT = 10


def _wallet(request: HttpRequest) -> Wallet:
    return request.user.wallet


def dashboard(request: HttpRequest) -> HttpResponse:
    wallet = _wallet(request)
    months = selectors.monthly_summary(wallet)
    context = {
        "wallet": wallet,
        "standing": selectors.standing(wallet),
        "expiring": selectors.expiring_soon(wallet),
        "holds": selectors.open_holds(wallet),
        "months": months,
        # Cards only for months that moved, oldest first like the chart: twelve cards of
        # zeros say nothing.
        "active_months": [month for month in months if month.has_movements],
        "chart": monthly_chart(months),
        "recent": selectors.history_page(wallet=wallet, size=RECENT),
    }
    return render(request, "credits/dashboard.html", context)


def history(request: HttpRequest) -> HttpResponse:
    apps = selectors.apps_that_asked(_wallet(request))
    form = HistoryFilterForm(request.GET or None, apps=apps)
    filters = form.filters()
    before = request.GET.get("before", "")
    entries = []
    if filters is not None:  # an invalid filter lists nothing rather than more than was asked
        entries = selectors.history_page(
            wallet=_wallet(request),
            before=int(before) if before.isdecimal() else None,
            size=selectors.HISTORY_PAGE_SIZE + 1,  # one more tells whether a next page exists
            filters=filters,
        )
    has_more = len(entries) > selectors.HISTORY_PAGE_SIZE
    entries = entries[: selectors.HISTORY_PAGE_SIZE]
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "form": form,
        "filter_refused": filters is None,
        "entries": entries,
        "next_before": entries[-1].pk if has_more else None,
        "first_page": not before,
        "query": query.urlencode(),
    }
    return render(request, "credits/history.html", context)


def transaction_detail(request: HttpRequest, transaction_id: int) -> HttpResponse:
    wallet = _wallet(request)
    txn = selectors.transaction_detail_for(wallet=wallet, transaction_id=transaction_id)
    if txn is None:
        raise Http404("No such transaction in your wallet.")
    context = {
        "txn": txn,
        "parties": selectors.transfer_parties(txn),
        "asked_by": selectors.asked_by(txn, viewer=request.user),
        "leg": txn.entries.filter(wallet=wallet).first(),
        "allocations": txn.own_allocations,
        "refunds": selectors.refunds_of(txn),
    }
    return render(request, "credits/transaction.html", context)


def statement(request: HttpRequest) -> HttpResponse:
    form = StatementForm(request.GET or None)
    if request.GET and form.is_valid():
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        return statement_csv(
            _wallet(request),
            since=since,
            until=until,
            filename=f"creditdesk-statement-{since}-{until}.csv",
        )
    return render(request, "credits/statement.html", {"form": form})


def credit_blocks(request: HttpRequest) -> HttpResponse:
    wallet = _wallet(request)
    context = {"grants": selectors.grants_in_burn_down_order(wallet), "wallet": wallet}
    return render(request, "credits/blocks.html", context)


def transfer(request: HttpRequest) -> HttpResponse:
    """Step one: who and how much. Step two (same form, confirmed) sends it. "Change" on the
    confirmation posts the details back here, to be shown as typed."""
    wallet = _wallet(request)
    changing = request.method == "POST" and "change" in request.POST
    if changing:
        form = TransferForm(initial=request.POST.dict(), sender=request.user)
    else:
        form = TransferForm(request.POST or None, sender=request.user)
    context = {
        "form": form,
        "allowance": services.transfer_allowance(wallet=wallet),
        "standing": selectors.standing(wallet),
    }
    if changing or request.method != "POST" or not form.is_valid():
        return render(request, "credits/transfer.html", context)
    amount = form.cleaned_data["amount"]
    try:
        services.check_transfer(sender=wallet, receiver=form.receiver.wallet, amount=amount)
    except CreditError as refusal:
        form.add_error(None, refusal.message)
        return render(request, "credits/transfer.html", context)
    allowance = context["allowance"]
    context.update(
        receiver=form.receiver,
        allowance_after=None if allowance is None else allowance - amount,
    )
    return render(request, "credits/transfer_confirm.html", context)


@require_POST
def transfer_confirm(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST, sender=request.user)
    context = {
        "form": form,
        "allowance": services.transfer_allowance(wallet=_wallet(request)),
        "standing": selectors.standing(_wallet(request)),
    }
    if not form.is_valid():
        return render(request, "credits/transfer.html", context)
    try:
        txn = services.transfer(
            sender=_wallet(request),
            receiver=form.receiver.wallet,
            amount=form.cleaned_data["amount"],
            description=form.cleaned_data["description"],
            actor=Actor.for_user(request.user),
            idempotency_key=f"transfer:{form.cleaned_data['idempotency_key']}",
        )
    except CreditError as error:
        form.add_error(None, refusal_text(error))
        return render(request, "credits/transfer.html", context)
    sent = figures.credits(txn.amount)
    messages.success(request, f"{sent} credits were sent to {form.receiver.get_full_name()}.")
    return redirect("credits:transaction", txn.pk)


@never_cache
def balance_alerts(request: HttpRequest) -> HttpResponse:
    """The user's low-balance thresholds: an e-mail when the available balance falls below one,
    and another when it is back (credits.thresholds says how often)."""
    wallet = _wallet(request)
    once = OnceToken(request, purpose=f"credits.alerts:{wallet.pk}")
    if (early := once.answer_early({}, "once_done.html")) is not None:
        return early
    current = selectors.thresholds_of(wallet)
    if request.method != "POST":
        form = ThresholdsForm.for_thresholds(current)
    else:
        form = ThresholdsForm(request.POST)
        if form.is_valid():
            try:
                saved = services.set_thresholds(
                    wallet=wallet, thresholds=form.thresholds(), actor=Actor.for_user(request.user)
                )
            except CreditError as error:
                form.add_error(None, error.message)
            else:
                url = reverse("credits:alerts")
                once.complete(url=url, label="your low-balance alerts")
                messages.success(request, _saved_message(saved))
                return redirect(url)
    context = {"form": form, "current": current, "available": wallet.available}
    return render(request, "credits/alerts.html", context)


def _saved_message(saved: list[int]) -> str:
    if not saved:
        return "You will get no low-balance alerts."
    listed = ", ".join(figures.credits(value) for value in saved)
    return f"Saved: you will be told when your available credits fall below {listed}."
