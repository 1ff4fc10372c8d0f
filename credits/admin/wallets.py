"""Staff's wallets: their state, and operations (grant, deduct, freeze…) through intermediate forms.

Operations post through `credits.services` with the staff member as the actor. Nothing in the
ledger can be added, edited or deleted here.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.once import OnceToken
from credits import services
from credits.actors import Actor
from credits.admin.ledger import hold_expiry
from credits.errors import CreditError
from credits.forms import DeductForm, GrantForm, StatusForm, refusal_text
from credits.models import (
    CreditTransaction,
    Entry,
    Wallet,
)
from credits.selectors import approvals_with_status, grants_in_burn_down_order, open_holds
from credits.services import staff as staff_powers

RECENT_TRANSACTIONS = 20


def wallets_key(wallets: list[Wallet]) -> str:
    return ",".join(str(wallet.pk) for wallet in wallets)


@dataclass(frozen=True)
class Operation:
    title: str
    form: type[forms.Form]
    run: Callable[[Wallet, dict, object, str], object]  # (wallet, form data, staff, key)
    done: str  # what to tell staff, with {email} and {amount}


def _grant(wallet: Wallet, data: dict, staff, key: str) -> staff_powers.StaffOutcome:
    return staff_powers.staff_grant(
        wallet=wallet,
        amount=data["amount"],
        reason=data["reason"],
        promotional=data["kind"] == "promotional",
        expires_at=data["expires_at"],
        priority=data["priority"],
        staff=staff,
        idempotency_key=key,
    )


def _deduct(wallet: Wallet, data: dict, staff, key: str) -> staff_powers.StaffOutcome:
    return staff_powers.staff_deduct(
        wallet=wallet,
        amount=data["amount"],
        reason=data["reason"],
        staff=staff,
        idempotency_key=key,
    )


def _status(change: Callable) -> Callable:
    def run(wallet: Wallet, data: dict, staff, key: str):
        return change(wallet=wallet, reason=data["reason"], actor=Actor.for_staff(staff))

    return run


OPERATIONS = {
    "grant": Operation(
        "Grant credits", GrantForm, _grant, "Granted {amount} credits{each} to {whom}."
    ),
    "deduct": Operation(
        "Deduct credits", DeductForm, _deduct, "Deducted {amount} credits{each} from {whom}."
    ),
    "freeze": Operation("Freeze", StatusForm, _status(services.freeze), "Froze {whom}."),
    "unfreeze": Operation("Unfreeze", StatusForm, _status(services.unfreeze), "Unfroze {whom}."),
    "suspend": Operation("Suspend", StatusForm, _status(services.suspend), "Suspended {whom}."),
    "reactivate": Operation(
        "Reactivate",
        StatusForm,
        _status(services.reactivate),
        "Reactivated {whom} (suspension lifted).",
    ),
}


def _whom(emails: list[str], shown: int = 3) -> str:
    """The wallets an operation touched, named by owner; a long selection is cut short."""
    if len(emails) == 1:
        return f"the wallet of {emails[0]}"
    names = ", ".join(emails[:shown])
    if len(emails) > shown:
        names += f" and {len(emails) - shown} more"
    return f"the {len(emails)} wallets of {names}"


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["owner", "balance", "held", "available", "status"]
    list_filter = ["status"]
    search_fields = ["user__email", "user__name"]
    list_select_related = ["user"]
    actions = ["grant_credits", "deduct_credits", "freeze_wallets", "unfreeze_wallets"]
    actions += ["suspend_wallets", "reactivate_wallets"]
    fields = ["owner_link", "status", "balance", "held", "available", "operations"]
    fields += ["approvals_waiting", "credit_blocks", "open_holds", "recent_transactions"]
    fields += ["status_history"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(kind=Wallet.Kind.USER)
            .annotate(available_credits=F("balance") - F("held"))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The wallet page is read-only; operations run through their own forms.
        return obj is None and super().has_change_permission(request)

    @admin.display(ordering="user__email")
    def owner(self, wallet: Wallet) -> str:
        return str(wallet.user)

    @admin.display(description="Owner")
    def owner_link(self, wallet: Wallet) -> str:
        return _link("accounts_user", wallet.user_id, str(wallet.user))

    @admin.display(ordering="available_credits")
    def available(self, wallet: Wallet) -> int:
        return wallet.available

    @admin.display(description="Operations")
    def operations(self, wallet: Wallet) -> str:
        # Only what can apply now (the service's rule): Unfreeze on an active wallet would
        # only be refused.
        open_now = services.staff_operations_open(wallet)
        return format_html_join(
            " ",
            '<a class="button" href="{}?ids={}">{}</a>',
            (
                (reverse("admin:credits_wallet_operation", args=[name]), wallet.pk, op.title)
                for name, op in OPERATIONS.items()
                if name in open_now
            ),
        ) or format_html("<p>{}</p>", "None can apply to this wallet now.")

    @admin.display(description="Credit blocks with credits left (burn-down order)")
    def credit_blocks(self, wallet: Wallet) -> str:
        rows = [
            (
                _link("credits_creditgrant", grant.pk, f"#{grant.pk}"),
                grant.get_source_display(),
                grant.kind_label,
                grant.remaining,
                grant.amount,
                f"{grant.expires_at:%Y-%m-%d %H:%M} UTC" if grant.expires_at else "never",
                grant.priority,
            )
            for grant in grants_in_burn_down_order(wallet)
        ]
        return _table(
            ["Grant", "Source", "Kind", "Remaining", "Granted", "Expires", "Priority"], rows
        )

    @admin.display(description="Grants and deductions waiting for a colleague's approval")
    def approvals_waiting(self, wallet: Wallet) -> str:
        waiting = approvals_with_status(wallet.approval_requests.all(), "pending")
        rows = [
            (
                format_html(
                    "<a href='{}'>#{}</a>",
                    reverse("admin:credits_approvalrequest_change", args=[approval.pk]),
                    approval.pk,
                ),
                approval.get_operation_display(),
                approval.amount,
                approval.requested_by,
                f"{approval.expires_at:%Y-%m-%d %H:%M}",
            )
            for approval in waiting.select_related("requested_by").order_by("expires_at")
        ]
        return _table(["Request", "Operation", "Credits", "Asked by", "Open until (UTC)"], rows)

    @admin.display(description="Open holds")
    def open_holds(self, wallet: Wallet) -> str:
        rows = [
            (
                _link("credits_hold", hold.pk, f"#{hold.pk}"),
                hold.uncaptured,
                hold.amount,
                hold.description,
                hold_expiry(hold),
            )
            for hold in open_holds(wallet)
        ]
        return _table(["Hold", "Reserved", "Amount", "Description", "Expires (UTC)"], rows)

    @admin.display(description=f"Last {RECENT_TRANSACTIONS} transactions")
    def recent_transactions(self, wallet: Wallet) -> str:
        entries = (
            Entry.objects.filter(wallet=wallet)
            .select_related("transaction")
            .order_by("-id")[:RECENT_TRANSACTIONS]
        )
        rows = [
            (
                _link(
                    "credits_credittransaction", entry.transaction_id, f"#{entry.transaction_id}"
                ),
                f"{entry.created_at:%Y-%m-%d %H:%M}",
                entry.transaction.get_kind_display(),
                f"{entry.amount:+d}",
                entry.balance_after,
                entry.transaction.description,
                entry.transaction.actor_label,
            )
            for entry in entries
        ]
        all_url = reverse("admin:credits_entry_changelist") + f"?wallet__id__exact={wallet.pk}"
        return format_html(
            "{}<p><a href='{}'>All of this wallet's entries</a></p>",
            _table(
                ["Transaction", "When (UTC)", "Kind", "Amount", "Balance", "Description", "By"],
                rows,
            ),
            all_url,
        )

    @admin.display(description="Status history")
    def status_history(self, wallet: Wallet) -> str:
        rows = [
            (
                f"{change.created_at:%Y-%m-%d %H:%M}",
                change.from_status,
                change.to_status,
                change.actor_label,
                change.reason,
            )
            for change in wallet.status_changes.all()
        ]
        return _table(["When (UTC)", "From", "To", "By", "Reason"], rows)

    def get_urls(self):
        return [
            path(
                "operation/<str:name>/",
                self.admin_site.admin_view(self.operation_view),
                name="credits_wallet_operation",
            ),
            *super().get_urls(),
        ]

    def operation_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """The intermediate page of an operation: a form for the selected wallets, then the run.
        The drawn form acts once (core/once.py): sent again after Back, it says it was done."""
        if name not in OPERATIONS or not self.has_change_permission(request):
            raise PermissionDenied
        operation = OPERATIONS[name]
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdecimal()]
        wallets = list(
            self.get_queryset(request).filter(pk__in=ids).select_related("user").order_by("pk")
        )
        if not wallets:
            self.message_user(request, "Select at least one wallet.", messages.WARNING)
            return redirect("admin:credits_wallet_changelist")
        once = OnceToken(request, purpose=f"credits.wallet.{name}:{wallets_key(wallets)}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = operation.form(request.POST or None)
        if request.method == "POST" and form.is_valid():
            results = self._run(request, operation, wallets, form.cleaned_data, once.key)
            if results:
                once.complete(**self._result_link(name, wallets, results))
            if len(wallets) == 1:
                return redirect("admin:credits_wallet_change", wallets[0].pk)
            return redirect("admin:credits_wallet_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": operation.title,
            "opts": self.model._meta,
            "form": form,
            "wallets": wallets,
        }
        return TemplateResponse(request, "admin/credits/wallet/operation.html", context)

    @staticmethod
    def _result_link(name: str, wallets: list[Wallet], results: list) -> dict:
        """What a done operation links to: its transaction or approval request when there is
        one, else the wallet (its status history) or the wallets."""
        if len(results) == 1:
            found = getattr(results[0], "transaction", None) or getattr(
                results[0], "approval", None
            )
            if isinstance(found, CreditTransaction):
                url = reverse("admin:credits_credittransaction_change", args=[found.pk])
                return {"url": url, "label": f"transaction #{found.pk}"}
            if found is not None:
                url = reverse("admin:credits_approvalrequest_change", args=[found.pk])
                return {"url": url, "label": f"approval request #{found.pk}"}
        if len(wallets) == 1:
            url = reverse("admin:credits_wallet_change", args=[wallets[0].pk])
            return {"url": url, "label": f"{name} on the wallet of {wallets[0].user.email}"}
        url = reverse("admin:credits_wallet_changelist") + f"?id__in={wallets_key(wallets)}"
        return {"url": url, "label": f"{name} on {len(wallets)} wallets"}

    def _run(self, request, operation: Operation, wallets: list[Wallet], data: dict, key: str):
        """Run the operation wallet by wallet; one message for the done, one for those that wait
        for a colleague's approval, one per refusal reason. Returns what was done (empty when
        every wallet refused)."""
        done, asked, refused, results = [], [], defaultdict(list), []
        for wallet in wallets:
            try:
                result = operation.run(wallet, data, request.user, f"admin:{key}:{wallet.pk}")
            except CreditError as error:
                refused[refusal_text(error)].append(wallet.user.email)
            else:
                results.append(result)
                approval = getattr(result, "approval", None)
                (asked if approval else done).append(approval or wallet.user.email)
        for reason, emails in refused.items():
            self.message_user(request, f"Not done for {_whom(emails)}: {reason}", messages.ERROR)
        if done:
            each = " each" if len(done) > 1 else ""
            summary = operation.done.format(amount=data.get("amount"), each=each, whom=_whom(done))
            self.message_user(request, summary, messages.SUCCESS)
        for approval in asked:
            self.message_user(
                request,
                format_html(
                    "Waiting for a colleague's approval: <a href='{}'>{}</a> for {}. {}",
                    reverse("admin:credits_approvalrequest_change", args=[approval.pk]),
                    approval,
                    _whom([approval.wallet.user.email]),
                    approval.why_approval,
                ),
                messages.WARNING,
            )
        return results

    def _start(self, queryset, name: str) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(reverse("admin:credits_wallet_operation", args=[name]) + f"?ids={ids}")

    @admin.action(description="Grant credits to the selected wallets", permissions=["change"])
    def grant_credits(self, request, queryset):
        return self._start(queryset, "grant")

    @admin.action(description="Deduct credits from the selected wallets", permissions=["change"])
    def deduct_credits(self, request, queryset):
        return self._start(queryset, "deduct")

    @admin.action(description="Freeze the selected wallets", permissions=["change"])
    def freeze_wallets(self, request, queryset):
        return self._start(queryset, "freeze")

    @admin.action(description="Unfreeze the selected wallets", permissions=["change"])
    def unfreeze_wallets(self, request, queryset):
        return self._start(queryset, "unfreeze")

    @admin.action(description="Suspend the selected wallets", permissions=["change"])
    def suspend_wallets(self, request, queryset):
        return self._start(queryset, "suspend")

    @admin.action(description="Reactivate the selected (suspended) wallets", permissions=["change"])
    def reactivate_wallets(self, request, queryset):
        return self._start(queryset, "reactivate")


def _link(admin_name: str, pk: int, label: str) -> str:
    return format_html(
        "<a href='{}'>{}</a>", reverse(f"admin:{admin_name}_change", args=[pk]), label
    )


def _table(headers: list[str], rows: list[tuple]) -> str:
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th scope='col'>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        head,
        body,
    )
