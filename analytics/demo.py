"""Demo history for `manage.py seed_demo`: six months of a small shop (the five months before
this one, and this one so far), so every analytics page has figures to chart.

Eight customers join over those months; they buy packs (one with a promo code), subscribe
(Monthly, Pro and Yearly, with an upgrade, a downgrade, a cancellation and a re-subscription),
spend, transfer, hold (captured, released, still open), have credits expire, dispute a spend
(resolved, rejected), get a refund and make a chargeback that is lost; a job is paid by its
milestones and a partner app charges two of them.

Every step is taken the way real data is made: purchases through billing's checkout service
then paid through the code the Stripe webhooks call (as billing/demo.py does), credits through
credits.services, jobs, disputes and partner apps through their own services. The services
stamp `timezone.now()`, so each step runs with the clock moved to its moment (time-machine, the
demo's only use of it) and the steps run in the order of their moments: the ledger's order of
events is the real one and every invariant holds (`manage.py credits_reconcile`). The months are
this run's: the history is as recent whenever the demo is seeded. Nothing is dated after now.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.models import User
from billing.models import CreditPackage, Promotion, Purchase
from billing.services import checkout, checkout_events, money_back, subscription_events
from billing.stripe_api import to_minor_units
from credits import services as credits
from credits.actors import Actor
from credits.models import CreditTransaction, Hold
from disputes import services as disputes
from integrations.models import PartnerApp
from integrations.services import apps, caps, consents
from jobs import services as jobs
from jobs.services import MilestonePlan

# Last: the history is of customers of its own, and its steps are dated before the other demos'
# rows (made now), which it never touches.
SEED_AFTER = ("billing", "credits", "jobs", "integrations", "disputes")
STAFF = "admin@creditdesk.test"
DELIVERER = "checker@creditdesk.test"  # the jobs demo lets this staff member deliver
# One published password for every demo customer (none is staff), hashed once: eight hashes at
# Django's cost would make the demo slow for nothing.
PASSWORD = "creditdesk-customer-demo"
CUSTOMERS = {
    "carol": "Carol Customer",
    "dave": "Dave Customer",
    "erin": "Erin Customer",
    "frank": "Frank Customer",
    "grace": "Grace Customer",
    "heidi": "Heidi Customer",
    "ivan": "Ivan Customer",
    "judy": "Judy Customer",
    "kim": "Kim Developer",  # builds the partner app; buys nothing
}
PROMO_CODE = "FRIENDS250"
APP_NAME = "Translate Hub"
MONTHS = 6  # this month and the five before it


def seed(stdout) -> None:
    staff = User.objects.filter(email=STAFF).first()
    plans = {
        p.name: p for p in CreditPackage.objects.filter(stripe_price_id__startswith="price_demo")
    }
    wanted = {"Starter", "Standard", "Studio", "Monthly", "Pro", "Yearly"}
    if staff is None or not wanted <= set(plans):
        stdout.write("Demo history: skipped (it needs the demo staff member and catalogue).")
        return
    if User.objects.filter(email=_email("carol")).exists():
        stdout.write("Demo history: already there, left unchanged.")
        return
    story = Story(now=timezone.now(), packages=plans, staff=staff)
    story.tell()
    stdout.write(
        f"Demo history: {len(story.users)} more users over {story.first:%B %Y} to "
        f"{story.now:%B %Y} ({', '.join(user.email for user in story.users.values())}; password "
        f"{PASSWORD}): purchases, subscriptions with plan changes, a promo code, a refund, a "
        f"lost chargeback, disputes, a job, a partner app ({APP_NAME}{story.app_note}), "
        "transfers, holds and expiries, for the analytics pages."
    )


def _email(name: str) -> str:
    return f"{name}@creditdesk.test"


@dataclass(order=True)
class Step:
    at: datetime
    order: int  # the order steps were told in, for steps at the same moment
    do: Callable = field(compare=False)
    args: tuple = field(compare=False, default=())


class Story:
    """The history as steps at moments, then run in the order of their moments."""

    def __init__(self, *, now: datetime, packages: dict, staff: User):
        self.now, self.packages, self.staff = now, packages, staff
        this_month = datetime(now.year, now.month, 1, tzinfo=UTC)
        self.starts = [_add_months(this_month, back) for back in range(1 - MONTHS, 1)]
        self.first = self.starts[0]
        self.steps: list[Step] = []
        self.users: dict[str, User] = {}
        self.app: PartnerApp | None = None
        self.app_note = ""
        self.password = make_password(PASSWORD)

    # --- When ----------------------------------------------------------------------------------

    def at(self, month: int, day: int, hour: int = 12) -> datetime:
        """Day `day` (1 to 28) of the month `month` months from now (0: this month, -5: the
        first), at `hour` UTC. This month's days are squeezed into the part of it that is over,
        in the same order, so nothing is dated after now."""
        start = self.starts[month - 1]
        offset = timedelta(days=day - 1, hours=hour)
        if month < 0:
            return start + offset
        return start + (self.now - start) * (offset / timedelta(days=28))

    def on(self, when: datetime, do: Callable, *args) -> None:
        self.steps.append(Step(when, len(self.steps), do, args))

    def renewals(self, first: datetime, until: datetime | None = None) -> list[datetime]:
        """A monthly plan's period starts from `first`, up to `until` (or now): each on the
        same day of the month, as Stripe bills."""
        found, start = [], first
        while start < min(until or self.now, self.now):
            found.append(start)
            start = _add_months(start, 1)
        return found

    def tell(self) -> None:
        self.on(self.at(-5, 1, 0), self._promotion)
        for name in ("carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"):
            getattr(self, f"_{name}")()
        self._partner_app()
        # The operator's expiry run (`credits_expire`), twice a month: it expires what is due
        # then, never a credit that a hold reserves.
        for month in range(1 - MONTHS, 1):
            for day in (1, 16):
                self.on(self.at(month, day, 3), credits.expire_due_grants)
        for step in sorted(self.steps):
            with time_machine.travel(step.at, tick=False):
                step.do(*step.args)

    # --- The cast ------------------------------------------------------------------------------

    def _promotion(self) -> None:
        Promotion.objects.create(
            code=PROMO_CODE,
            kind=Promotion.Kind.BONUS_FIXED,
            value=250,
            credit_lifetime_days=45,
            created_by=self.staff,
        )

    def join(self, name: str, when: datetime) -> None:
        """The customer's account, opened when they join (the first step of their story), with
        a verified address."""

        def opened():
            user = User.objects.create_user(email=_email(name), name=CUSTOMERS[name])
            user.password = self.password
            user.save(update_fields=["password"])
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
            self.users[name] = user

        self.on(when, opened)

    def user(self, name: str) -> User:
        return User.objects.select_related("wallet").get(pk=self.users[name].pk)

    # --- What they do, in the way the real thing happens -----------------------------------------

    def buy(self, when, name: str, pack: str, *, promo: str = "", tag: str = "") -> None:
        """A pack bought at checkout and paid (checkout.session.completed's code)."""

        def bought():
            user = self.users[name]
            purchase = checkout.open_purchase(
                user=user, package=self.packages[pack], promo_code=promo
            )
            ref = _ref(name, tag or pack)
            checkout_events.checkout_completed(
                session={
                    "id": f"cs_{ref}",
                    "mode": "payment",
                    "payment_status": "paid",
                    "payment_intent": f"pi_{ref}",
                    "amount_total": to_minor_units(purchase.amount, purchase.currency),
                    "metadata": {"purchase_id": str(purchase.pk)},
                },
                event_id=f"evt_{ref}_paid",
                event_type="demo",
            )

        self.on(when, bought)

    def refund(self, when, name: str, tag: str, minor_units: int) -> None:
        """Part of a payment refunded in Stripe (charge.refunded's code)."""

        def refunded():
            purchase = self._purchase(name, tag)
            money_back.charge_refunded(
                charge={
                    "id": f"ch_{_ref(name, tag)}",
                    "amount": to_minor_units(purchase.amount, purchase.currency),
                    "amount_refunded": minor_units,
                    "payment_intent": purchase.stripe_payment_intent_id,
                },
                event_id=f"evt_{_ref(name, tag)}_refund",
                event_type="demo",
            )

        self.on(when, refunded)

    def chargeback(self, when, name: str, tag: str, *, status: str) -> None:
        """The buyer's bank disputes the payment (charge.dispute.created's code), or decides it
        (charge.dispute.closed's: "lost" takes the held credits back)."""

        def changed():
            purchase = self._purchase(name, tag)
            dispute = {
                "id": f"dp_{_ref(name, tag)}",
                "amount": to_minor_units(purchase.amount, purchase.currency),
                "payment_intent": purchase.stripe_payment_intent_id,
                "status": status,
            }
            handler = (
                money_back.dispute_opened
                if status == "needs_response"
                else (money_back.dispute_closed)
            )
            handler(dispute=dispute, event_id=f"evt_{_ref(name, tag)}_{status}", event_type="demo")

        self.on(when, changed)

    def _purchase(self, name: str, tag: str) -> Purchase:
        return Purchase.objects.get(stripe_checkout_session_id=f"cs_{_ref(name, tag)}")

    def subscribe(self, when, name: str, plan: str, *, tag: str) -> None:
        """A plan's checkout (checkout.session.completed in subscription mode)."""

        def subscribed():
            user = self.users[name]
            purchase = checkout.open_purchase(user=user, package=self.packages[plan], promo_code="")
            checkout_events.checkout_completed(
                session={
                    "id": f"cs_{_ref(name, tag)}",
                    "mode": "subscription",
                    "subscription": f"sub_{_ref(name, tag)}",
                    "metadata": {"purchase_id": str(purchase.pk)},
                },
                event_id=f"evt_{_ref(name, tag)}_checkout",
                event_type="demo",
            )

        self.on(when, subscribed)

    def invoice(self, when, name: str, plan: str, *, tag: str) -> None:
        """A period's invoice paid (invoice.paid's code): the plan's credits for the period."""
        package = self.packages[plan]
        end = _add_months(when, 12 if package.interval == "year" else 1)

        def paid():
            user = self.users[name]
            subscription = f"sub_{_ref(name, tag)}"
            invoice_id = f"in_{_ref(name, tag)}_{when:%Y%m%d}"
            subscription_events.invoice_paid(
                invoice={
                    "id": invoice_id,
                    "amount_paid": to_minor_units(package.price, package.currency),
                    "currency": package.currency,
                    "parent": {
                        "subscription_details": {
                            "subscription": subscription,
                            "metadata": {"user_id": str(user.pk), "package_id": str(package.pk)},
                        }
                    },
                    "lines": {
                        "data": [
                            {
                                "period": {"start": _stamp(when), "end": _stamp(end)},
                                "pricing": {"price_details": {"price": package.stripe_price_id}},
                            }
                        ]
                    },
                },
                event_id=f"evt_{invoice_id}",
                event_type="demo",
            )

        self.on(when, paid)

    def subscription_event(self, when, name: str, plan: str, *, tag: str, **state) -> None:
        """customer.subscription.updated / .deleted: the plan, its period and its status as
        Stripe has them now (a change of plan at the renewal, a cancellation)."""
        package = self.packages[plan]

        def changed():
            user = self.users[name]
            subscription = {
                "id": f"sub_{_ref(name, tag)}",
                "status": state.get("status", "active"),
                "cancel_at_period_end": state.get("cancel_at_period_end", False),
                "canceled_at": state.get("canceled_at"),
                "ended_at": state.get("ended_at"),
                "metadata": {"user_id": str(user.pk), "package_id": str(package.pk)},
                "items": {
                    "data": [
                        {
                            "price": {"id": package.stripe_price_id},
                            "current_period_start": state.get("period_start"),
                            "current_period_end": state.get("period_end"),
                        }
                    ]
                },
            }
            subscription_events.subscription_changed(
                subscription=subscription,
                event_created=timezone.now(),
                event_id=f"evt_{_ref(name, tag)}_{timezone.now():%Y%m%d%H}",
                event_type="demo",
            )

        self.on(when, changed)

    def spend(self, when, name: str, amount: int, description: str, *, dispute=None) -> None:
        def spent():
            user = self.user(name)
            credits.spend(
                wallet=user.wallet,
                amount=amount,
                description=description,
                actor=Actor.for_user(user),
                idempotency_key=_key(user, f"spend-{when:%Y%m%d%H}"),
            )

        self.on(when, spent)

    def transfer(self, when, sender: str, receiver: str, amount: int, description: str) -> None:
        def moved():
            giver = self.user(sender)
            credits.transfer(
                sender=giver.wallet,
                receiver=self.user(receiver).wallet,
                amount=amount,
                description=description,
                actor=Actor.for_user(giver),
                idempotency_key=_key(giver, f"transfer-{when:%Y%m%d%H}"),
            )

        self.on(when, moved)

    def hold(self, when, name: str, amount: int, description: str, *, days: int = 14) -> None:
        def held():
            user = self.user(name)
            credits.hold(
                wallet=user.wallet,
                amount=amount,
                description=description,
                expires_at=timezone.now() + timedelta(days=days),
                actor=Actor.for_user(user),
                idempotency_key=_key(user, f"hold-{description}"),
            )

        self.on(when, held)

    def settle_hold(self, when, name: str, description: str, *, capture: int = 0) -> None:
        """Capture `capture` credits of the user's open hold (the rest goes back), or release
        it all."""

        def settled():
            user = self.user(name)
            hold = Hold.objects.get(
                wallet=user.wallet, status=Hold.Status.OPEN, description=description
            )
            common = {"hold": hold, "actor": Actor.for_user(user)}
            if capture:
                credits.capture(
                    **common,
                    amount=capture,
                    description=f"{description}: done",
                    idempotency_key=_key(user, f"capture-{description}"),
                )
            else:
                credits.release(
                    **common,
                    description=f"{description}: called off",
                    idempotency_key=_key(user, f"release-{description}"),
                )

        self.on(when, settled)

    def dispute(self, when, name: str, spend_on: datetime, reason: str, text: str) -> None:
        """The user disputes the spend they made at `spend_on`."""

        def opened():
            user = self.user(name)
            txn = CreditTransaction.objects.get(
                idempotency_record__key=_key(user, f"spend-{spend_on:%Y%m%d%H}")
            )
            disputes.open_dispute(
                user=user, txn=txn, reason=reason, description=text, amount=txn.amount
            )

        self.on(when, opened)

    def answer_dispute(self, when, name: str, *, refund: int = 0, answer: str) -> None:
        """Staff answer the user's open dispute, then resolve it with a refund or reject it."""

        def answered():
            user = self.user(name)
            dispute = user.disputes.filter(closed_at__isnull=True).get()
            disputes.post_message(dispute=dispute, author=self.staff, body=answer)
            if refund:
                disputes.resolve(dispute=dispute, staff=self.staff, amount=refund, note=answer)
            else:
                disputes.reject(dispute=dispute, staff=self.staff, reason=answer)

        self.on(when, answered)

    def _escalated(self, name: str, reason: str) -> None:
        user = self.user(name)
        rejected = user.disputes.filter(status="rejected", level=1).get()
        disputes.escalate(dispute=rejected, user=user, reason=reason)

    # --- The customers' stories -----------------------------------------------------------------

    def _changes_plan(self, name: str, first: str, started, then: str, changed) -> None:
        """Subscribes to `first`, renews it monthly, moves to `then` on the renewal at `changed`
        (an upgrade or a downgrade, billed from that invoice on)."""
        self.subscribe(started, name, first, tag="plan")
        for renewal in self.renewals(started):
            if renewal == changed:
                self._plan_change(renewal, name, then, tag="plan")
            self.invoice(renewal, name, then if renewal >= changed else first, tag="plan")

    def _carol(self) -> None:
        """An early customer: a pack, then Monthly, upgraded to Pro; she shares credits."""
        at = self.at
        self.join("carol", at(-5, 3, 9))
        self.buy(at(-5, 3, 10), "carol", "Standard")
        self._changes_plan("carol", "Monthly", at(-5, 5, 9), "Pro", at(-2, 5, 9))
        for month in range(-5, 1):
            self.spend(at(month, 10), "carol", 450 if month < -2 else 1400, "Logo and banner set")
            self.spend(at(month, 21), "carol", 300, "Image upscaling")
        self.transfer(at(-3, 15), "carol", "dave", 300, "For our joint project")
        self.hold(at(0, 24), "carol", 300, "Video edit (in progress)")

    def _dave(self) -> None:
        """Packs only: Starter, then Studio with a promo code; a dispute refunded, one rejected
        (escalated, and rejected again); a hold captured in part."""
        at = self.at
        self.join("dave", at(-5, 12, 9))
        self.buy(at(-5, 12, 10), "dave", "Starter")
        self.spend(at(-5, 18), "dave", 200, "Translation, 2 pages")
        self.spend(at(-4, 7), "dave", 100, "Proofreading")
        self.hold(at(-4, 20), "dave", 150, "Data clean-up")
        self.settle_hold(at(-4, 27), "dave", "Data clean-up", capture=120)
        voice_over = at(-3, 16)
        self.spend(voice_over, "dave", 300, "Voice-over, 2 minutes")
        self.dispute(at(-3, 18), "dave", voice_over, "not_delivered", "Only half arrived.")
        self.answer_dispute(
            at(-3, 20), "dave", refund=150, answer="Half was never delivered: refunded."
        )
        self.buy(at(-2, 9), "dave", "Studio", promo=PROMO_CODE)
        self.spend(at(-2, 14), "dave", 800, "Product video")
        self.spend(at(-1, 10), "dave", 1200, "Website copy")
        twice = at(-1, 22)
        self.spend(twice, "dave", 500, "Batch render")
        self.dispute(at(-1, 23), "dave", twice, "duplicate", "I think I was charged twice.")
        self.answer_dispute(at(-1, 26), "dave", answer="Two renders, two separate jobs.")
        self.on(at(-1, 27), self._escalated, "dave", "Both renders were of the same scene.")
        self.answer_dispute(
            at(-1, 28), "dave", answer="Senior review: the scenes differ (#41 and #42)."
        )
        self.spend(at(0, 8), "dave", 600, "Podcast edit")

    def _erin(self) -> None:
        """Pro from the start, downgraded to Monthly; a hold released."""
        at = self.at
        self.join("erin", at(-4, 3, 8))
        self._changes_plan("erin", "Pro", at(-4, 3, 9), "Monthly", at(-1, 3, 9))
        for month in range(-4, 1):
            self.spend(at(month, 12), "erin", 1500 if month < -1 else 600, "Transcription")
        self.hold(at(-2, 11), "erin", 400, "Podcast transcription")
        self.settle_hold(at(-2, 13), "erin", "Podcast transcription")

    def _frank(self) -> None:
        """Monthly, cancelled at a period's end, a pack in between, then Monthly again."""
        at = self.at
        self.join("frank", at(-5, 8, 8))
        started, ends = at(-5, 8, 9), at(-3, 8, 9)
        self.subscribe(started, "frank", "Monthly", tag="plan")
        for renewal in self.renewals(started, until=ends):
            self.invoice(renewal, "frank", "Monthly", tag="plan")
        self.spend(at(-5, 15), "frank", 700, "Translation, 7 pages")
        self.spend(at(-4, 15), "frank", 400, "Translation, 4 pages")
        asked = at(-4, 20)
        self.subscription_event(
            asked,
            "frank",
            "Monthly",
            tag="plan",
            cancel_at_period_end=True,
            canceled_at=_stamp(asked),
            period_start=_stamp(_add_months(ends, -1)),
            period_end=_stamp(ends),
        )
        self.subscription_event(
            ends,
            "frank",
            "Monthly",
            tag="plan",
            status="canceled",
            canceled_at=_stamp(asked),
            ended_at=_stamp(ends),
            period_start=_stamp(_add_months(ends, -1)),
            period_end=_stamp(ends),
        )
        self.buy(at(-2, 3), "frank", "Starter")
        self.spend(at(-2, 6), "frank", 350, "Proofreading")
        again = at(-1, 12, 9)
        self.subscribe(again, "frank", "Monthly", tag="plan-again")
        for renewal in self.renewals(again):
            self.invoice(renewal, "frank", "Monthly", tag="plan-again")
        self.spend(at(-1, 20), "frank", 600, "Translation, 6 pages")

    def _grace(self) -> None:
        """Yearly, and a job paid milestone by milestone."""
        at = self.at
        self.join("grace", at(-4, 9, 8))
        started = at(-4, 9, 9)
        self.subscribe(started, "grace", "Yearly", tag="plan")
        self.invoice(started, "grace", "Yearly", tag="plan")
        for month in range(-4, 1):
            self.spend(at(month, 17), "grace", 1500, "Catalogue copy")
        self.on(at(-3, 4), self._job_opened)
        self.on(at(-3, 12), self._job_delivered, 0, "The first twenty photos.")
        self.on(at(-3, 13), self._job_accepted, 0)
        self.on(at(-2, 6), self._job_delivered, 1, "The other twenty, retouched.")
        self.on(at(-2, 8), self._job_accepted, 1)

    def _heidi(self) -> None:
        """Standard with the promo code; half refunded; the bonus left unused expires."""
        at = self.at
        self.join("heidi", at(-3, 2, 9))
        self.buy(at(-3, 2, 10), "heidi", "Standard", promo=PROMO_CODE)
        self.spend(at(-3, 10), "heidi", 100, "Proofreading")
        self.refund(at(-2, 4), "heidi", "Standard", 500)
        self.buy(at(-1, 7), "heidi", "Starter")
        self.spend(at(-1, 9), "heidi", 400, "Translation, 4 pages")
        self.spend(at(0, 14), "heidi", 200, "Proofreading")

    def _ivan(self) -> None:
        """Studio, some of it spent, then a chargeback his bank decides against us."""
        at = self.at
        self.join("ivan", at(-2, 8, 9))
        self.buy(at(-2, 8, 10), "ivan", "Studio")
        self.spend(at(-2, 12), "ivan", 1000, "Product video")
        self.chargeback(at(-2, 20), "ivan", "Studio", status="needs_response")
        self.chargeback(at(-1, 5), "ivan", "Studio", status="lost")

    def _judy(self) -> None:
        """The newest: Starter with the promo code, then Standard this month, a hold open."""
        at = self.at
        self.join("judy", at(-1, 4, 9))
        self.buy(at(-1, 4, 10), "judy", "Starter", promo=PROMO_CODE)
        self.spend(at(-1, 15), "judy", 450, "Logo design")
        self.buy(at(0, 6), "judy", "Standard")
        self.spend(at(0, 10), "judy", 500, "Landing page copy")
        self.hold(at(0, 20), "judy", 250, "Newsletter design (in progress)")

    def _plan_change(self, when, name: str, plan: str, *, tag: str) -> None:
        self.subscription_event(
            when,
            name,
            plan,
            tag=tag,
            period_start=_stamp(when),
            period_end=_stamp(_add_months(when, 1)),
        )

    # --- The job and the partner app --------------------------------------------------------------

    def _job_opened(self) -> None:
        grace = self.user("grace")
        job = jobs.create_draft(
            client=grace,
            title="Catalogue photos",
            summary="Forty product photos for the spring catalogue.",
            budget=1000,
        )
        today = timezone.now().date()
        jobs.plan_milestones(
            job=job,
            by=grace,
            milestones=[
                MilestonePlan(
                    title="First twenty", due_date=today + timedelta(days=10), amount=600
                ),
                MilestonePlan(
                    title="Other twenty", due_date=today + timedelta(days=35), amount=400
                ),
            ],
        )
        jobs.submit(job=job, by=grace)

    def _job_milestone(self, index: int):
        job = self.user("grace").jobs.get(title="Catalogue photos")
        return job, job.milestones.order_by("position")[index]

    def _job_delivered(self, index: int, message: str) -> None:
        team = User.objects.get(email=DELIVERER)
        job, milestone = self._job_milestone(index)
        jobs.deliver(
            milestone=milestone,
            by=team,
            message=message,
            links=[("Gallery", f"https://photos.example.com/jobs/{job.pk}/{index + 1}")],
        )

    def _job_accepted(self, index: int) -> None:
        _, milestone = self._job_milestone(index)
        jobs.accept(milestone=milestone, by=self.user("grace"))

    def _partner_app(self) -> None:
        """Translate Hub, by kim, approved by staff; carol and grace let it charge them."""
        if not oauth2_settings.OIDC_RSA_PRIVATE_KEY:
            self.app_note = ": skipped, no OIDC_RSA_PRIVATE_KEY"
            return
        at = self.at
        self.join("kim", at(-4, 1, 9))
        self.on(at(-4, 1, 10), self._app_registered)
        for name in ("carol", "grace"):
            self.on(at(-4, 12), self._app_allowed, name)
        for month in range(-4, 1):
            self.on(at(month, 15), self._app_charged, "carol", 120, "Menu translated, 3 pages")
            self.on(at(month, 18), self._app_charged, "grace", 200, "Catalogue in German")
        self.on(at(-2, 22), self._app_held, "grace", 300)
        self.on(at(-2, 24), self._app_captured, "grace", 260)

    def _app_registered(self) -> None:
        app, _ = apps.register(
            owner=self.users["kim"],
            name=APP_NAME,
            homepage="https://translate-hub.example.com",
            description="Translates your pages; charges per page in credits.",
            redirect_uris="https://translate-hub.example.com/oauth/callback",
            allowed_scopes="openid profile email credits:read credits:hold credits:spend",
            proposed_cap=1000,
        )
        self.app = apps.change_status(
            app=app, to=PartnerApp.Status.APPROVED, reason="Demo app, reviewed.", by=self.staff
        )

    def _app_allowed(self, name: str) -> None:
        consents.give(
            app=self.app,
            user=self.users[name],
            scope_names=["openid", "credits:read", "credits:hold", "credits:spend"],
            cap=800,
        )

    def _app_actor(self, name: str) -> tuple[User, Actor]:
        user = self.user(name)
        charge_limit = caps.charge_limit(self.app.pk, user.pk)
        return user, Actor.for_app(
            self.app.pk, self.app.name, user_id=user.pk, charge_limit=charge_limit
        )

    def _app_charged(self, name: str, amount: int, description: str) -> None:
        user, actor = self._app_actor(name)
        credits.spend(
            wallet=user.wallet,
            amount=amount,
            description=description,
            actor=actor,
            idempotency_key=f"app-{timezone.now():%Y%m%d%H}",
        )

    def _app_held(self, name: str, amount: int) -> None:
        user, actor = self._app_actor(name)
        credits.hold(
            wallet=user.wallet,
            amount=amount,
            description="Website in three languages",
            expires_at=timezone.now() + timedelta(days=7),
            actor=actor,
            idempotency_key=f"app-hold-{user.pk}",
        )

    def _app_captured(self, name: str, amount: int) -> None:
        user, actor = self._app_actor(name)
        hold = Hold.objects.get(
            wallet=user.wallet, status=Hold.Status.OPEN, description="Website in three languages"
        )
        credits.capture(
            hold=hold,
            amount=amount,
            description="Website in three languages: done",
            actor=actor,
            idempotency_key=f"app-capture-{user.pk}",
        )


def _ref(name: str, tag: str) -> str:
    """Made-up Stripe ids for the demo history: `cs_demo_history_carol_standard`, …"""
    return f"demo_history_{name}_{tag.lower()}"


def _key(user: User, name: str) -> str:
    return f"demo-history:{user.pk}:{name}"


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _add_months(moment: datetime, count: int) -> datetime:
    """The same day and time `count` months later (or earlier); days 1 to 28 only."""
    index = moment.year * 12 + moment.month - 1 + count
    return moment.replace(year=index // 12, month=index % 12 + 1)
