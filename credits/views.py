"""The user's wallet pages: dashboard, history, a transaction, statements, credit blocks, transfer.

Thin views: selectors read, services write; each page runs a fixed number of queries whatever
the length of the history.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import figures
from credits import selectors, services
from credits.actors import Actor
from credits.chart import monthly_chart
from credits.errors import CreditError
from credits.forms import HistoryFilterForm, StatementForm, TransferForm, refusal_text
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
        "expiring": selectors.expiring_soon(wallet),
        "holds": selectors.open_holds(wallet),
        "months": months,
        "chart": monthly_chart(months),
        "recent": selectors.history_page(wallet=wallet, size=RECENT),
    }
    return render(request, "credits/dashboard.html", context)


def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    filters = selectors.HistoryFilter()
    if form.is_valid():
        filters = selectors.HistoryFilter(**form.cleaned_data)
    before = request.GET.get("before", "")
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
    """Step one: who and how much. Step two (same form, confirmed) sends it."""
    wallet = _wallet(request)
    form = TransferForm(request.POST or None, sender=request.user)
    allowance = services.transfer_allowance(wallet=wallet)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_transfer(
                sender=wallet, receiver=form.receiver.wallet, amount=form.cleaned_data["amount"]
            )
        except CreditError as refusal:
            form.add_error(None, refusal.message)
            return render(request, "credits/transfer.html", {"form": form, "allowance": allowance})
        context = {
            "form": form,
            "receiver": form.receiver,
            "allowance": allowance,
            "allowance_after": None
            if allowance is None
            else allowance - form.cleaned_data["amount"],
        }
        return render(request, "credits/transfer_confirm.html", context)
    return render(request, "credits/transfer.html", {"form": form, "allowance": allowance})


@require_POST
def transfer_confirm(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST, sender=request.user)
    if not form.is_valid():
        return render(
            request,
            "credits/transfer.html",
            {"form": form, "allowance": services.transfer_allowance(wallet=_wallet(request))},
        )
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
        return render(
            request,
            "credits/transfer.html",
            {"form": form, "allowance": services.transfer_allowance(wallet=_wallet(request))},
        )
    sent = figures.credits(txn.amount)
    messages.success(request, f"{sent} credits were sent to {form.receiver.get_full_name()}.")
    return redirect("credits:transaction", txn.pk)
