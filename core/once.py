"""Staff forms that act once per intent: a once-token per drawn form, kept on the server.

A staff form that moves credits or changes a wallet (a grant, a freeze, a refund, a decision)
must not act twice because the browser went Back and the form was sent again. Every response is
`no-store`, so Back asks the server for the page again: a key drawn into the form at each render
would be a new key, and a second grant. Instead:

1. Opening the form without a token issues one (kept in the staff member's server-side session,
   for this form's purpose) and redirects to the same address with `?once=<token>`. That address
   is what the browser keeps in its history, so Back, a reload or a resend all come back to the
   same token: one drawn form, one intent.
2. The operation's idempotency key is derived from the token (`OnceToken.key`), so even two
   sends racing each other are one operation in the ledger.
3. On success the token is marked done with a link to what it did; any later send of that form
   shows "This operation was already done" with that link, and changes nothing.
4. Opening the form afresh (the wallet page's button, the changelist action) is a new intent
   with a new token.

An unknown token (another session's, a purpose it was not issued for, one trimmed away, a
session that ended) never acts: the form is drawn afresh.

The tokens live in the session (server-side, in the database), not in a table of their own: a
GET writes nothing but the session (tests/test_every_url.py). A session is saved whole, so a
request in another tab saved at the same moment could drop a "done" mark; what was done is then
still done once, because the operations' own keys are derived from the token (the ledger and
Stripe replay them) and status changes and decisions are refused once made.
"""

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

PARAMETER = "once"
SESSION_KEY = "once_tokens"
KEPT = 200  # tokens a session keeps; the oldest are let go first (they then never act)
ALREADY_DONE = "This operation was already done"
EXPIRED = "That form was no longer valid, so nothing was done: check it and send it again."


class OnceToken:
    """The once-token of the form `request` shows, for `purpose` (e.g. "credits.grant:4,7")."""

    def __init__(self, request: HttpRequest, *, purpose: str):
        self.request = request
        self.purpose = purpose
        self.token = request.GET.get(PARAMETER, "")
        record = request.session.get(SESSION_KEY, {}).get(self.token)
        self._record = record if record and record["purpose"] == purpose else None

    @property
    def issued(self) -> bool:
        return self._record is not None

    @property
    def done(self) -> bool:
        return self.issued and self._record["done"] is not None

    @property
    def key(self) -> str:
        """The operation's idempotency key: the same for every send of this drawn form."""
        return f"once:{self.token}"

    def start(self) -> HttpResponseRedirect:
        """Issue a token and send the browser to the form's address carrying it; a form sent
        without a valid token is drawn afresh, and nothing is done."""
        if self.request.method == "POST":
            messages.warning(self.request, EXPIRED)
        token = secrets.token_urlsafe(16)
        tokens = dict(self.request.session.get(SESSION_KEY, {}))
        tokens[token] = {"purpose": self.purpose, "done": None}
        self.request.session[SESSION_KEY] = dict(list(tokens.items())[-KEPT:])
        return HttpResponseRedirect(self._address(token))

    def answer_early(
        self, context: dict, template: str = "admin/once_done.html"
    ) -> HttpResponse | None:
        """What a form view answers before drawing or acting on the form, if anything: a token
        first (start), or the done page for a form already sent (already_done); None to go on."""
        if not self.issued:
            return self.start()
        if self.done:
            return self.already_done(context, template)
        return None

    def complete(self, *, url: str, label: str) -> None:
        """The operation was done: later sends show `label`, linked to `url`."""
        tokens = dict(self.request.session.get(SESSION_KEY, {}))
        tokens[self.token] = {"purpose": self.purpose, "done": {"url": url, "label": label}}
        self.request.session[SESSION_KEY] = tokens

    def already_done(
        self, context: dict, template: str = "admin/once_done.html"
    ) -> TemplateResponse:
        """The page a send (or a Back) of a done form gets: what was done, and a way to start a
        new operation on purpose (`template`: the admin's page, or a page of the site's layout
        such as templates/once_done.html)."""
        context = {
            **context,
            "title": ALREADY_DONE,
            "result": self._record["done"],
            "again_url": self._address(None),
        }
        return TemplateResponse(self.request, template, context)

    def _address(self, token: str | None) -> str:
        query = self.request.GET.copy()
        query.pop(PARAMETER, None)
        if token:
            query[PARAMETER] = token
        return f"{self.request.path}?{query.urlencode()}" if query else self.request.path
