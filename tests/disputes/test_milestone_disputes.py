"""A client disputes a delivered milestone instead of accepting it: the same dispute, queue and
levels as a disputed charge, with the milestone's outcomes (pay all, pay part, release)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditTransaction
from disputes import selectors, services
from disputes.errors import DisputeError
from disputes.models import Dispute
from events.dispatch import dispatch_pending
from jobs import services as jobs
from jobs.errors import JobNotFound, NotAllowed, WrongStatus
from jobs.models import Job, Milestone
from tests.clients import Api, sign_in_staff
from tests.credits.conftest import state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, milestones, open_job
from tests.pages import accessibility_problems, drawn_form, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status


@pytest.fixture
def client_user(db):
    return UserFactory(email="client@example.com")


@pytest.fixture
def deliverer(db):
    return StaffFactory(is_superuser=False, permissions=["jobs.deliver"])


@pytest.fixture
def staff(db):
    """Staff of the dispute queue who may also settle jobs' holds."""
    return StaffFactory(email="queue@example.com")


@pytest.fixture
def in_review(client_user, deliverer) -> Milestone:
    """The first of two milestones (600 + 400 credits reserved), delivered and in review."""
    job = open_job(client_user, 600, 400)
    milestone = delivered(job, deliverer)
    # The setup's events, as if it had committed before: their e-mails are not this test's.
    dispatch_pending()
    return milestone


def dispute_milestone(user, milestone, amount=600, **fields) -> Dispute:
    return services.open_milestone_dispute(
        user=user,
        milestone=milestone,
        reason=fields.get("reason", "poor_quality"),
        description=fields.get("description", "Half the pages are missing."),
        amount=amount,
    )


def reread(milestone: Milestone) -> Milestone:
    milestone.refresh_from_db()
    return milestone


# --- opening ---------------------------------------------------------------------------------


def test_the_client_disputes_a_delivered_milestone_and_nothing_is_paid(
    client_user, in_review, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = dispute_milestone(client_user, in_review, amount=300)

    assert (dispute.status, dispute.milestone, dispute.transaction, dispute.amount) == (
        Dispute.Status.OPEN,
        in_review,
        None,
        300,
    )
    assert reread(in_review).status == Status.DISPUTED
    assert state(client_user.wallet) == (1000, 1000, 0)
    assert in_review.activity.filter(verb="disputed").exists()
    assert [m.subject for m in mailoutbox if m.to == [client_user.email]] == [
        f"[CreditDesk] Dispute #{dispute.pk}: We received your dispute"
    ]


def test_only_the_client_may_dispute_and_another_user_hears_there_is_no_such_job(
    in_review, deliverer
):
    with pytest.raises(JobNotFound):
        dispute_milestone(UserFactory(), in_review)
    with pytest.raises(NotAllowed, match="Only the job's client"):
        dispute_milestone(deliverer, in_review)
    assert reread(in_review).status == Status.SUBMITTED
    assert not Dispute.objects.exists()


def test_only_a_milestone_in_review_may_be_disputed(client_user, in_review):
    funded = milestones(in_review.job)[1]
    with pytest.raises(WrongStatus, match="only a delivered milestone in review"):
        dispute_milestone(client_user, funded, amount=400)
    jobs.accept(milestone=in_review, by=client_user)
    with pytest.raises(WrongStatus):
        dispute_milestone(client_user, in_review)
    assert not Dispute.objects.exists()


def test_one_active_dispute_per_milestone(client_user, in_review):
    dispute_milestone(client_user, in_review)
    with pytest.raises(WrongStatus, match="disputed"):
        dispute_milestone(client_user, in_review)
    assert Dispute.objects.count() == 1
    assert services.why_milestone_not_disputable(user=client_user, milestone=in_review) == (
        "This milestone already has an open dispute."
    )


def test_the_database_refuses_a_second_active_dispute_on_a_milestone(client_user, in_review):
    first = dispute_milestone(client_user, in_review)
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(
            user=client_user, milestone=first.milestone, reason="other", description="x", amount=1
        )


def test_the_database_refuses_a_dispute_about_nothing_or_two_things_at_once(client_user, in_review):
    capture = CreditTransaction.objects.filter(kind=CreditTransaction.Kind.HOLD).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(user=client_user, reason="other", description="x", amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(
            user=client_user,
            milestone=in_review,
            transaction=capture,
            reason="other",
            description="x",
            amount=1,
        )


@pytest.mark.parametrize(
    ("amount", "fields", "message"),
    [
        (0, {}, "between 1 and 600"),
        (601, {}, "between 1 and 600"),
        (-5, {}, "between 1 and 600"),
        (2.5, {}, "between 1 and 600"),
        (True, {}, "between 1 and 600"),
        (100, {"reason": "duplicate"}, "Choose a reason"),
        (100, {"description": "   "}, "Describe what went wrong"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client_user, in_review, amount, fields, message):
    with pytest.raises(DisputeError, match=message):
        dispute_milestone(client_user, in_review, amount=amount, **fields)
    assert reread(in_review).status == Status.SUBMITTED
    assert not Dispute.objects.exists()


def test_the_clock_never_accepts_a_disputed_milestone(client_user, in_review):
    dispute_milestone(client_user, in_review)
    report = jobs.run_clock(now=timezone.now() + timedelta(days=60))
    assert in_review.pk not in report.accepted
    assert reread(in_review).status == Status.DISPUTED
    assert state(client_user.wallet)[1] == 600  # still reserved (the other milestone lapsed)


def test_staff_cannot_force_accept_or_release_a_disputed_milestone(
    client_user, in_review, deliverer
):
    dispute_milestone(client_user, in_review)
    with pytest.raises(WrongStatus, match="dispute queue"):
        jobs.force_accept(milestone=in_review, staff=deliverer, reason="Looks fine")
    with pytest.raises(WrongStatus, match="dispute queue"):
        jobs.force_release(milestone=in_review, staff=deliverer, reason="Refund it")
    assert state(client_user.wallet) == (1000, 1000, 0)


# --- outcomes --------------------------------------------------------------------------------


def test_rejecting_pays_the_whole_milestone(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.reject(dispute=dispute, staff=staff, reason="Every page is there.")

    dispute.refresh_from_db()
    milestone = reread(in_review)
    assert (dispute.status, milestone.status) == (Dispute.Status.REJECTED, Status.ACCEPTED)
    assert (dispute.transaction.kind, dispute.transaction.amount) == ("capture", 600)
    assert dispute.transaction.hold == milestone.hold
    assert dispute.refunded_amount == 0
    assert state(client_user.wallet) == (400, 400, 0)


def test_resolving_with_part_back_pays_the_rest(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.resolve(dispute=dispute, staff=staff, amount=250, note="A third was missing.")

    dispute.refresh_from_db()
    milestone = reread(in_review)
    assert (dispute.status, milestone.status) == (Dispute.Status.RESOLVED, Status.ACCEPTED_IN_PART)
    assert (milestone.hold.captured_amount, dispute.refunded_amount) == (350, 250)
    assert dispute.transaction is None
    assert state(client_user.wallet) == (650, 400, 250)
    assert milestone.activity.filter(verb="dispute_settled").count() == 1


def test_resolving_with_everything_back_releases_the_milestone(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=600)
    services.resolve(dispute=dispute, staff=staff, amount=600)

    milestone = reread(in_review)
    assert milestone.status == Status.CANCELLED
    assert (milestone.hold.status, milestone.hold.captured_amount) == ("released", 0)
    assert state(client_user.wallet) == (1000, 400, 600)


def test_staff_give_back_at_most_what_the_client_asked(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    for amount in (0, 301):
        with pytest.raises(DisputeError, match="between 1 and 300"):
            services.resolve(dispute=dispute, staff=staff, amount=amount)
    assert reread(in_review).status == Status.DISPUTED
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_a_hold_is_never_settled_twice(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.resolve(dispute=dispute, staff=staff, amount=300)

    with pytest.raises(DisputeError, match="already closed"):
        services.resolve(dispute=dispute, staff=staff, amount=300)
    with pytest.raises(DisputeError, match="already closed"):
        services.reject(dispute=dispute, staff=staff, reason="Changed my mind")
    with pytest.raises(WrongStatus, match="not disputed"):
        jobs.settle_dispute(milestone=in_review, staff=staff, pay=600)
    assert state(client_user.wallet) == (700, 400, 300)


def test_staff_of_the_dispute_queue_settle_a_milestone_without_delivering_jobs(
    client_user, in_review
):
    dispute = dispute_milestone(client_user, in_review)
    queue_only = StaffFactory(is_superuser=False, permissions=["disputes.change_dispute"])
    services.resolve(dispute=dispute, staff=queue_only, amount=100)
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED
    assert state(client_user.wallet) == (500, 400, 100)  # 500 paid, 100 back, 400 still held


def test_nobody_settles_a_dispute_on_their_own_job(deliverer):
    own = StaffFactory(is_superuser=False, permissions=["disputes.change_dispute"])
    job = open_job(own, 600)
    dispute = dispute_milestone(own, delivered(job, deliverer))
    with pytest.raises(DisputeError, match="own"):
        services.resolve(dispute=dispute, staff=own, amount=100)
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


def test_the_last_milestone_settled_by_a_dispute_completes_the_job(client_user, deliverer, staff):
    job = open_job(client_user, 500)
    dispute = dispute_milestone(client_user, delivered(job, deliverer), amount=100)
    services.resolve(dispute=dispute, staff=staff, amount=100)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert state(client_user.wallet) == (100, 0, 100)


# --- escalation ------------------------------------------------------------------------------


@pytest.fixture
def senior(db):
    return StaffFactory(email="senior@example.com")


def test_an_escalated_rejection_is_refunded_through_the_ledger(
    client_user, in_review, staff, senior
):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.reject(dispute=dispute, staff=staff, reason="Every page is there.")
    services.escalate(dispute=dispute, user=client_user, reason="Pages 4 to 9 are blank.")

    dispute.refresh_from_db()
    assert (dispute.status, dispute.level) == (Dispute.Status.UNDER_REVIEW, 2)
    services.resolve(dispute=dispute, staff=senior, amount=200, note="Blank pages refunded.")

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED
    assert (dispute.refund.kind, dispute.refund.amount) == ("refund", 200)
    assert dispute.refund.reverses == dispute.transaction
    assert dispute.refunded_amount == 200
    assert reread(in_review).status == Status.ACCEPTED  # the milestone was settled once
    assert state(client_user.wallet) == (600, 400, 200)


def test_an_escalation_needs_a_senior_and_may_be_rejected_again(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.reject(dispute=dispute, staff=staff, reason="Every page is there.")
    services.escalate(dispute=dispute, user=client_user)
    junior = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    with pytest.raises(DisputeError, match="senior"):
        services.resolve(dispute=dispute, staff=junior, amount=100)
    services.reject(dispute=dispute, staff=staff, reason="Checked again: all there.")
    with pytest.raises(DisputeError, match="already been escalated"):
        services.escalate(dispute=dispute, user=client_user)
    assert state(client_user.wallet) == (400, 400, 0)


# --- the queue -------------------------------------------------------------------------------


def test_the_queue_steps_and_metrics_work_for_a_milestone_dispute(
    client_user, in_review, staff, deliverer
):
    job = open_job(UserFactory(), 50)
    # A charge disputed beside it, so the metrics count both subjects.
    other = delivered(job, deliverer)
    jobs.accept(milestone=other, by=job.client)
    capture = CreditTransaction.objects.get(hold=reread(other).hold, kind="capture")
    services.open_dispute(
        user=job.client, txn=capture, reason="other", description="Hm.", amount=10
    )
    dispute = dispute_milestone(client_user, in_review)
    services.assign(dispute=dispute, assignee=staff, by=staff)
    services.request_information(dispute=dispute, staff=staff, question="Which pages?")
    services.post_message(dispute=dispute, author=client_user, body="4 to 9.")

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.UNDER_REVIEW
    metrics = selectors.queue_metrics()
    assert metrics.open == 2
    assert dict(metrics.by_reason) == {"The result was not as described": 1, "Something else": 1}
    assert list(selectors.disputes_of(client_user)) == [dispute]


def test_the_admin_queue_shows_the_job_and_settles_the_milestone_from_its_step(
    client, client_user, in_review, staff
):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    sign_in_staff(client, staff)
    listing = client.get(reverse("admin:disputes_dispute_changelist"))
    change = client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk]))
    url = drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "resolve"]))
    step = client.get(url)

    job_url = reverse("jobs:detail", args=[in_review.job_id])
    assert f"Job #{in_review.job_id}: {in_review.title}" in text(listing)
    assert job_url in change.content.decode()
    assert "the rest is paid" in text(step)
    assert "between 1 and 300" in text(client.post(url, {"amount": 301, "note": ""}))

    done = client.post(url, {"amount": 100, "note": "Two pages missing."}, follow=True)

    assert "Gave 100 credits back, paid the rest" in text(done)
    assert reread(in_review).status == Status.ACCEPTED_IN_PART
    assert state(client_user.wallet) == (500, 400, 100)


def test_rejecting_in_the_admin_pays_the_milestone(client, client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review)
    sign_in_staff(client, staff)
    url = drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "reject"]))

    done = client.post(url, {"reason": "All there."}, follow=True)

    assert "the milestone paid" in text(done)
    assert state(client_user.wallet) == (400, 400, 0)


# --- the user's pages ------------------------------------------------------------------------


def test_the_client_opens_a_dispute_from_its_page_and_follows_it(client, client_user, in_review):
    client.force_login(client_user)
    form_url = reverse("disputes:open-milestone", args=[in_review.pk])
    form = client.get(form_url)
    assert form.status_code == 200
    assert accessibility_problems(form) == []
    assert "Something else" in text(form)
    assert "I was charged twice" not in text(form)

    response = client.post(
        form_url,
        {"reason": "not_delivered", "description": "No files.", "amount": 600},
        follow=True,
    )

    dispute = Dispute.objects.get()
    assert (dispute.milestone, dispute.amount) == (in_review, 600)
    assert "nothing is paid until staff decide" in text(response)
    assert reverse("jobs:detail", args=[in_review.job_id]) in response.content.decode()
    assert accessibility_problems(response) == []
    listing = client.get(reverse("disputes:list"))
    job_link = page(listing).find("a", href=reverse("jobs:detail", args=[in_review.job_id]))
    assert job_link.get_text() == f"Job #{in_review.job_id}"
    assert in_review.title in text(listing)
    assert accessibility_problems(listing) == []


def test_the_detail_page_says_what_a_resolution_gave_back(client, client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    services.resolve(dispute=dispute, staff=staff, amount=200)
    client.force_login(client_user)

    shown = text(client.get(reverse("disputes:detail", args=[dispute.pk])))

    assert "Given back 200 credits, not paid for the milestone" in shown
    assert "accepted in part" in shown


def test_the_open_page_refuses_a_bad_amount_beside_the_field(client, client_user, in_review):
    client.force_login(client_user)

    response = client.post(
        reverse("disputes:open-milestone", args=[in_review.pk]),
        {"reason": "poor_quality", "description": "Blurry.", "amount": 601},
    )

    assert page(response).find(id="id_amount_error") is not None
    assert reread(in_review).status == Status.SUBMITTED
    assert not Dispute.objects.exists()


def test_the_open_page_sends_back_to_the_job_when_it_cannot_be_disputed(
    client, client_user, in_review
):
    client.force_login(client_user)
    funded = milestones(in_review.job)[1]

    response = client.get(reverse("disputes:open-milestone", args=[funded.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[funded.job_id])


def test_another_users_milestone_is_not_found(client, in_review):
    client.force_login(UserFactory())
    url = reverse("disputes:open-milestone", args=[in_review.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "other", "description": "x", "amount": 1}).status_code == 404
    assert reread(in_review).status == Status.SUBMITTED


# --- the API ---------------------------------------------------------------------------------


def dispute_url(milestone: Milestone, job_id: int | None = None) -> str:
    return f"jobs/{job_id or milestone.job_id}/milestones/{milestone.pk}/dispute"


BODY = {"reason": "poor_quality", "description": "Half the pages are missing.", "amount": 300}


def test_the_api_opens_a_milestone_dispute_once_per_key(client_user, in_review):
    api = Api(client_user)

    first = api.post(dispute_url(in_review), BODY, idempotency_key="dispute-1")
    again = api.post(dispute_url(in_review), BODY, idempotency_key="dispute-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    body = first.json()
    assert (body["job"], body["milestone"], body["transaction"], body["amount"]) == (
        in_review.job_id,
        in_review.pk,
        None,
        300,
    )
    assert Dispute.objects.count() == 1
    assert api.get(f"disputes/{body['id']}").json()["milestone"] == in_review.pk


def test_the_api_needs_an_idempotency_key(client_user, in_review):
    response = Api(client_user).post(dispute_url(in_review), BODY, idempotency_key=None)

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "Idempotency-Key"
    assert not Dispute.objects.exists()


def test_the_api_answers_404_for_another_users_job_or_a_milestone_of_another_job(
    client_user, in_review
):
    stranger = Api(UserFactory())
    other_job = open_job(client_user, 50)

    assert stranger.post(dispute_url(in_review), BODY).status_code == 404
    assert Api(client_user).post(dispute_url(in_review, other_job.pk), BODY).status_code == 404
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("changes", "status", "attr"),
    [
        ({"amount": 0}, 400, "amount"),
        ({"amount": 601}, 400, "amount"),
        ({"amount": "300"}, 400, "amount"),
        ({"reason": "duplicate"}, 400, "reason"),
        ({"description": ""}, 400, "description"),
    ],
)
def test_the_api_refuses_bad_input_naming_the_field(client_user, in_review, changes, status, attr):
    response = Api(client_user).post(dispute_url(in_review), {**BODY, **changes})

    assert response.status_code == status
    assert [error["attr"] for error in response.json()["errors"]] == [attr]
    assert reread(in_review).status == Status.SUBMITTED


def test_the_api_answers_409_for_a_milestone_not_in_review(client_user, in_review):
    api = Api(client_user)
    api.post(dispute_url(in_review), BODY)

    response = api.post(dispute_url(in_review), BODY)
    funded = api.post(dispute_url(milestones(in_review.job)[1]), {**BODY, "amount": 10})

    assert (response.status_code, funded.status_code) == (409, 409)
    assert response.json()["errors"][0]["code"] == "wrong_status"
    assert Dispute.objects.count() == 1


# --- the job page's offer (a template tag: jobs never imports disputes) ----------------------


def offer(milestone: Milestone, user) -> str:
    from django.template import Context, Template

    template = Template("{% load disputes %}{% milestone_dispute_action milestone user %}")
    return template.render(Context({"milestone": reread(milestone), "user": user}))


def test_the_job_page_offers_the_client_a_dispute_then_links_to_it(client_user, in_review, staff):
    form_url = reverse("disputes:open-milestone", args=[in_review.pk])
    assert form_url in offer(in_review, client_user)
    assert offer(in_review, staff).strip() == ""
    assert offer(milestones(in_review.job)[1], client_user).strip() == ""

    dispute = dispute_milestone(client_user, in_review)
    shown = offer(in_review, client_user)

    assert form_url not in shown
    assert reverse("disputes:detail", args=[dispute.pk]) in shown


def test_staff_decide_a_milestone_dispute_through_the_staff_api(client_user, in_review, staff):
    dispute = dispute_milestone(client_user, in_review, amount=300)
    desk = Api(staff)

    queue = desk.get("admin/disputes").json()["results"]
    resolved = desk.post(
        f"admin/disputes/{dispute.pk}/resolve", {"amount": 300}, idempotency_key=None
    )

    assert [(row["job"], row["milestone"]) for row in queue] == [(in_review.job_id, in_review.pk)]
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["refunded"]) == ("resolved", 300)
    assert state(client_user.wallet) == (700, 400, 300)
