"""The jobs pages as a client and a staff member use them: a draft written section by section
(errors beside the field), submitted (the budget reserved on the dashboard), delivered, decided
on, cancelled; the work queue; the statistics; another user's job is a 404."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditTransaction
from jobs import services as jobs
from jobs.models import Job, Milestone
from tests.clients import sign_in_staff
from tests.credits.conftest import fund, state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job
from tests.pages import accessibility_problems, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status


def error_beside(response, field_id: str) -> str:
    """The error shown with the field `field_id` (its errorlist, in the same field block)."""
    field = page(response).find(id=field_id)
    assert field is not None, f"no field #{field_id}"
    errors = field.find_parent("div").select(".errorlist")
    return " ".join(error.get_text(" ", strip=True) for error in errors)


def planning_data(*rows, initial: int = 0) -> dict:
    data = {
        "milestones-TOTAL_FORMS": str(len(rows)),
        "milestones-INITIAL_FORMS": str(initial),
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "100",
        "save": "1",
    }
    for index, (title, due, amount) in enumerate(rows):
        data |= {
            f"milestones-{index}-title": title,
            f"milestones-{index}-due_date": str(due),
            f"milestones-{index}-amount": str(amount),
            f"milestones-{index}-description": "",
        }
    return data


def soon(days: int = 10):
    return timezone.now().date() + timedelta(days=days)


@pytest.fixture
def signed_in(client, client_user):
    client.force_login(client_user)
    return client


@pytest.fixture
def staff_client(client, deliverer):
    return sign_in_staff(client, deliverer)


# --- Drafts, by section ---------------------------------------------------------------------


def test_a_draft_is_written_section_by_section_and_saved_incomplete(signed_in, client_user):
    response = signed_in.post(
        reverse("jobs:create"), {"title": "A new site", "priority": "high", "category": "design"}
    )
    job = Job.objects.get(client=client_user)
    assert response["Location"] == reverse("jobs:edit", args=[job.pk, "business"])

    signed_in.post(
        reverse("jobs:edit", args=[job.pk, "business"]),
        {"company": "Acme", "industry": "Tools", "audience": "Makers", "website": ""},
    )
    signed_in.post(reverse("jobs:edit", args=[job.pk, "financial"]), {"budget": "900"})
    signed_in.post(
        reverse("jobs:edit", args=[job.pk, "planning"]),
        planning_data(("Design", soon(5), 500), ("Build", soon(20), 400)),
    )
    signed_in.post(
        reverse("jobs:edit", args=[job.pk, "links"]),
        {"label": "Brief", "url": "https://example.com/brief"},
    )

    job.refresh_from_db()
    assert (job.status, job.priority, job.company, job.budget) == ("draft", "high", "Acme", 900)
    assert [(m.title, m.amount) for m in milestones(job)] == [("Design", 500), ("Build", 400)]
    assert [link.label for link in job.links.all()] == ["Brief"]
    for step in ("basic", "business", "project", "branding", "planning", "financial", "links"):
        response = signed_in.get(reverse("jobs:edit", args=[job.pk, step]))
        assert response.status_code == 200
        assert accessibility_problems(response) == [], step
    review = signed_in.get(reverse("jobs:edit", args=[job.pk, "review"]))
    assert "Submit the job and reserve 900 credits" in text(review)


def test_a_draft_needs_a_title_said_beside_the_field(signed_in, client_user):
    response = signed_in.post(
        reverse("jobs:create"), {"title": "", "priority": "normal", "category": "design"}
    )

    assert response.status_code == 200
    assert "required" in error_beside(response, "id_title")
    assert not Job.objects.filter(client=client_user).exists()


def test_an_unsafe_website_is_refused_beside_the_field(signed_in, client_user):
    job = draft_job(client_user)
    url = reverse("jobs:edit", args=[job.pk, "business"])

    response = signed_in.post(url, {"company": "Acme", "website": "javascript:alert(1)"})

    assert "valid URL" in error_beside(response, "id_website")
    job.refresh_from_db()
    assert job.company == ""


def test_a_budget_in_fractions_is_refused_beside_the_field(signed_in, client_user):
    job = draft_job(client_user, 600, 400)

    response = signed_in.post(reverse("jobs:edit", args=[job.pk, "financial"]), {"budget": "2.5"})

    assert "whole number" in error_beside(response, "id_budget")
    job.refresh_from_db()
    assert job.budget == 1000


def test_a_milestone_error_is_shown_beside_its_rows_field(signed_in, client_user):
    job = draft_job(client_user, 600, 400)
    url = reverse("jobs:edit", args=[job.pk, "planning"])

    past = signed_in.post(url, planning_data(("Design", soon(5), 600), ("Late", soon(-3), 400)))
    too_much = signed_in.post(url, planning_data(("Design", soon(5), 5000)))

    assert "in the past" in error_beside(past, "id_milestones-1-due_date")
    assert "more than the budget" in error_beside(too_much, "id_milestones-0-amount")
    assert [m.amount for m in milestones(job)] == [600, 400]


def test_a_milestone_row_is_added_and_removed_on_the_page(signed_in, client_user):
    job = draft_job(client_user, 600, 400)
    url = reverse("jobs:edit", args=[job.pk, "planning"])
    data = planning_data(("Design", soon(5), 600), ("Build", soon(9), 400), initial=2)

    added = signed_in.post(url, {**data, "add_row": "1"})
    data["milestones-1-DELETE"] = "on"
    data["milestones-0-amount"] = "1000"
    removed = signed_in.post(url, data)

    assert page(added).find(id="id_milestones-2-title") is not None
    assert removed.status_code == 302
    assert [(m.title, m.amount) for m in milestones(job)] == [("Design", 1000)]


def test_another_users_job_is_not_found_on_every_page(client, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    milestone = delivered(job, deliverer)
    client.force_login(UserFactory())

    for address in [
        reverse("jobs:detail", args=[job.pk]),
        reverse("jobs:detail", args=[job.pk]) + "?tab=financial",
        reverse("jobs:edit", args=[job.pk, "basic"]),
    ]:
        assert client.get(address).status_code == 404, address
    for address in [
        reverse("jobs:accept", args=[milestone.pk]),
        reverse("jobs:cancel", args=[job.pk]),
        reverse("jobs:submit", args=[job.pk]),
    ]:
        assert client.post(address).status_code == 404, address
    assert state(client_user.wallet) == (1000, 1000, 0)


# --- Submitting -----------------------------------------------------------------------------


def test_submitting_reserves_the_budget_shown_on_the_dashboard(signed_in, client_user):
    job = draft_job(client_user, 600, 400)
    fund(client_user.wallet, 1500)

    response = signed_in.post(reverse("jobs:submit", args=[job.pk]), follow=True)
    again = signed_in.post(reverse("jobs:submit", args=[job.pk]), follow=True)

    assert "its budget of 1,000 credits is reserved" in text(response)
    assert "not a draft" in text(again)
    assert state(client_user.wallet) == (1500, 1000, 500)
    dashboard = page(signed_in.get(reverse("credits:dashboard")))
    held = dashboard.find(string="Reserved by open holds").find_parent("div")
    assert "1,000" in held.get_text()


def test_a_short_wallet_hears_the_ledger_and_is_sent_to_buy_credits(signed_in, client_user):
    job = draft_job(client_user, 600, 400)
    fund(client_user.wallet, 700)

    response = signed_in.post(reverse("jobs:submit", args=[job.pk]))

    assert response.status_code == 400
    assert "1000 asked, 700 available" in text(response)
    assert page(response).find("a", string="Buy credits")["href"] == reverse("billing:shop")
    assert state(client_user.wallet) == (700, 0, 700)
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT


def test_an_incomplete_draft_says_what_to_fix_and_where(signed_in, client_user):
    job = jobs.create_draft(client=client_user, title="Nothing planned", budget=100)

    response = signed_in.post(reverse("jobs:submit", args=[job.pk]))

    assert response.status_code == 400
    assert "Plan at least one milestone" in text(response)
    assert page(response).find("a", string="Fix it in Planning")["href"] == reverse(
        "jobs:edit", args=[job.pk, "planning"]
    )


# --- The detail page and the client's decisions ---------------------------------------------


@pytest.mark.parametrize("tab", ["overview", "planning", "financial", "files", "links", "activity"])
def test_every_tab_renders_for_the_client_and_for_staff(client, client_user, deliverer, tab):
    job = open_job(client_user, 600, 400)
    delivered(job, deliverer)
    address = reverse("jobs:detail", args=[job.pk]) + f"?tab={tab}"

    client.force_login(client_user)
    as_client = client.get(address)
    sign_in_staff(client, deliverer)
    as_staff = client.get(address)

    for response in (as_client, as_staff):
        assert response.status_code == 200
        assert accessibility_problems(response) == []
        current = page(response).select('.tabs a[aria-current="page"]')
        assert [link.get_text() for link in current] == [tab.title()]


def test_the_tabs_show_the_job_its_money_and_its_log(signed_in, client_user, deliverer):
    job = open_job(client_user, 600, 400, summary="A new logo and site")
    first = delivered(job, deliverer)
    jobs.accept_in_part(milestone=first, by=client_user, amount=450, reason="One logo short")
    detail = reverse("jobs:detail", args=[job.pk])

    overview = text(signed_in.get(detail))
    planning = text(signed_in.get(detail + "?tab=planning"))
    financial = page(signed_in.get(detail + "?tab=financial"))
    activity = text(signed_in.get(detail + "?tab=activity"))

    assert "A new logo and site" in overview
    assert "Normal priority" in overview
    assert "Accepted in part" in planning
    assert "Here it is." in planning
    facts = dict(
        zip(
            [dt.get_text() for dt in financial.select(".facts dt")],
            [dd.get_text() for dd in financial.select(".facts dd")],
            strict=True,
        )
    )
    assert facts["Budget"] == "1,000 credits"
    assert facts["Reserved now"] == "400 credits"
    assert facts["Paid (captured)"] == "450 credits"
    assert facts["Given back (released)"] == "150 credits"
    assert "Accepted the milestone in part: Milestone 1" in activity
    assert "One logo short" in activity


def test_accepting_on_the_page_captures_once_and_a_second_send_is_a_message(
    signed_in, client_user, deliverer
):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    url = reverse("jobs:accept", args=[first.pk])

    accepted = signed_in.post(url, follow=True)
    again = signed_in.post(url, follow=True)

    assert "600 credits were paid" in text(accepted)
    assert again.status_code == 200
    assert "only a delivered milestone in review can be accepted" in text(again)
    assert state(client_user.wallet) == (400, 400, 0)
    assert CreditTransaction.objects.filter(kind="capture", hold=first.hold).count() == 1


def test_accepting_in_part_checks_the_amount_beside_the_field(signed_in, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    url = reverse("jobs:accept_in_part", args=[first.pk])

    too_much = signed_in.post(
        url, {f"part-{first.pk}-amount": "600", f"part-{first.pk}-reason": "x"}
    )
    no_reason = signed_in.post(url, {f"part-{first.pk}-amount": "300"})
    paid = signed_in.post(
        url, {f"part-{first.pk}-amount": "450", f"part-{first.pk}-reason": "A logo short"}
    )

    assert too_much.status_code == 400
    assert "accept it instead" in error_beside(too_much, f"id_part-{first.pk}-amount")
    assert "required" in error_beside(no_reason, f"id_part-{first.pk}-reason")
    assert paid.status_code == 302
    assert state(client_user.wallet) == (550, 400, 150)


def test_requesting_changes_says_how_many_remain(signed_in, client_user, deliverer, settings):
    settings.JOBS_MAX_REVISIONS = 2
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    planning = reverse("jobs:detail", args=[job.pk]) + "?tab=planning"
    assert "ask for changes 2 more times" in text(signed_in.get(planning))

    empty = signed_in.post(reverse("jobs:request_changes", args=[first.pk]))
    asked = signed_in.post(
        reverse("jobs:request_changes", args=[first.pk]),
        {f"changes-{first.pk}-reason": "Bigger type"},
        follow=True,
    )
    delivered(job, deliverer)

    assert "required" in error_beside(empty, f"id_changes-{first.pk}-reason")
    assert "Changes were asked" in text(asked)
    assert "ask for changes 1 more time." in text(signed_in.get(planning))
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_a_delivery_in_review_links_the_disputes_page(signed_in, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    delivered(job, deliverer)

    response = signed_in.get(reverse("jobs:detail", args=[job.pk]) + "?tab=planning")

    link = page(response).find("a", string="Dispute this delivery")
    assert link["href"] == reverse("disputes:open-milestone", args=[milestones(job)[0].pk])


def test_cancelling_a_milestone_and_then_the_job_gives_the_credits_back(
    signed_in, client_user, deliverer
):
    job = open_job(client_user, 600, 400)
    first, second = milestones(job)
    delivered(job, deliverer, index=0)

    refused = signed_in.post(reverse("jobs:cancel_milestone", args=[first.pk]), follow=True)
    signed_in.post(reverse("jobs:cancel_milestone", args=[second.pk]))
    still_open = signed_in.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    jobs.accept(milestone=first, by=client_user)

    assert "was delivered" in text(refused)
    assert "was delivered" in text(still_open)  # the first must be decided first
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert state(client_user.wallet) == (400, 0, 400)


def test_cancelling_a_live_job_releases_everything_not_delivered(signed_in, client_user):
    job = open_job(client_user, 600, 400)

    response = signed_in.post(reverse("jobs:cancel", args=[job.pk]), follow=True)

    assert "is cancelled" in text(response)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert state(client_user.wallet) == (1000, 0, 1000)


def test_links_are_added_on_the_links_tab_and_unsafe_ones_refused(signed_in, client_user):
    job = open_job(client_user, 600, 400)
    url = reverse("jobs:add_link", args=[job.pk])

    bad = signed_in.post(url, {"label": "Evil", "url": "javascript:alert(1)"})
    good = signed_in.post(url, {"label": "Style guide", "url": "https://example.com/style"})

    assert bad.status_code == 400
    assert "http:// or https://" in error_beside(bad, "id_url")
    assert good.status_code == 302
    assert [link.label for link in job.links.all()] == ["Style guide"]


# --- The list -------------------------------------------------------------------------------


def test_an_empty_list_says_what_to_do(signed_in):
    response = signed_in.get(reverse("jobs:list"))

    assert "Create your first job" in text(response)
    assert accessibility_problems(response) == []


def test_the_list_filters_sorts_and_paginates(signed_in, client_user):
    draft_job(client_user, 100, title="Urgent one", priority="urgent")
    open_job(client_user, 5000, title="Big and low", priority="low")
    for n in range(26):
        jobs.create_draft(client=client_user, title=f"Filler {n}")

    def titles(query: str) -> list[str]:
        response = signed_in.get(reverse("jobs:list") + query)
        assert response.status_code == 200
        return [a.get_text().split(": ", 1)[1] for a in page(response).select("tbody td a")]

    assert titles("?status=open") == ["Big and low"]
    assert titles("?priority=urgent") == ["Urgent one"]
    assert titles("?sort=budget")[0] == "Big and low"
    assert titles("?sort=priority")[0] == "Urgent one"
    assert sorted(titles(f"?due_before={soon(8)}")) == ["Big and low", "Urgent one"]
    assert titles(f"?due_after={soon(8)}") == []
    assert len(titles("")) == 25
    assert len(titles("?page=2")) == 3
    second = page(signed_in.get(reverse("jobs:list") + "?sort=budget"))
    assert second.find("a", rel="next")["href"] == "?sort=budget&page=2"
    assert "No job matches" in text(signed_in.get(reverse("jobs:list") + "?status=completed"))


def test_the_list_runs_the_same_queries_for_few_jobs_and_many(signed_in, client_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(reverse("jobs:list") + "?sort=next_due").status_code == 200
        return len(captured)

    open_job(client_user, 600, 400)
    few = queries()
    for n in range(30):
        draft_job(client_user, 100, 200, title=f"Job {n}")
    many = queries()

    assert many == few


# --- Staff: the queue, assigning, delivering ------------------------------------------------


def test_the_queue_is_for_staff_who_deliver(client):
    client.force_login(UserFactory())
    assert client.get(reverse("jobs:queue")).status_code == 403

    sign_in_staff(client, StaffFactory(is_superuser=False))
    assert client.get(reverse("jobs:queue")).status_code == 403


def test_the_queue_lists_live_jobs_most_pressing_first(staff_client, client_user, deliverer):
    normal = open_job(client_user, 100, title="Normal")
    open_job(UserFactory(), 100, title="Urgent", priority="urgent")
    draft_job(client_user, 100, title="A draft")
    jobs.assign(job=normal, assignee=deliverer, by=deliverer)

    def titles(query: str = "") -> list[str]:
        response = staff_client.get(reverse("jobs:queue") + query)
        assert response.status_code == 200
        assert accessibility_problems(response) == []
        return [a.get_text().split(": ", 1)[1] for a in page(response).select("tbody td a")]

    assert titles() == ["Urgent", "Normal"]
    assert titles("?who=unassigned") == ["Urgent"]
    assert titles("?who=mine") == ["Normal"]
    assert titles("?sort=oldest") == ["Normal", "Urgent"]


def test_an_empty_queue_says_so(staff_client):
    assert "No job waits here" in text(staff_client.get(reverse("jobs:queue")))


def test_staff_assign_themselves_from_the_queue_and_a_colleague_from_the_job(
    staff_client, client_user, deliverer
):
    job = open_job(client_user, 600, 400)
    colleague = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])

    mine = staff_client.post(
        reverse("jobs:assign", args=[job.pk]), {"assignee": deliverer.pk, "back": "queue"}
    )
    job.refresh_from_db()
    assert mine["Location"] == reverse("jobs:queue")
    assert (job.status, job.assignee) == (Job.Status.IN_PROGRESS, deliverer)

    staff_client.post(reverse("jobs:assign", args=[job.pk]), {"assignee": colleague.pk})
    client_only = staff_client.post(
        reverse("jobs:assign", args=[job.pk]), {"assignee": client_user.pk}, follow=True
    )
    job.refresh_from_db()
    assert job.assignee == colleague
    assert "Choose a member of staff" in text(client_only)


def test_staff_deliver_a_milestone_with_a_message_and_a_link(staff_client, client_user):
    job = open_job(client_user, 600, 400)
    first = milestones(job)[0]
    url = reverse("jobs:deliver", args=[first.pk])
    form = staff_client.get(url)
    assert form.status_code == 200
    assert accessibility_problems(form) == []

    nothing = staff_client.post(url, {"message": "Here it is."})
    unsafe = staff_client.post(
        url, {"message": "Here", "link_label": "x", "link_url": "javascript:alert(1)"}
    )
    sent = staff_client.post(
        url,
        {"message": "Here it is.", "link_label": "Preview", "link_url": "https://example.com/p"},
    )
    again = staff_client.get(url, follow=True)

    assert "at least one file or link" in text(nothing)
    assert "http:// or https://" in error_beside(unsafe, "id_link_url")
    assert sent.status_code == 302
    first.refresh_from_db()
    assert first.status == Status.SUBMITTED
    assert first.deliveries.get().links.get().url == "https://example.com/p"
    assert "nothing to deliver" in text(again)
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_a_client_cannot_reach_the_delivery_form(signed_in, client_user):
    job = open_job(client_user, 600, 400)

    response = signed_in.get(reverse("jobs:deliver", args=[milestones(job)[0].pk]))

    assert response.status_code == 403


# --- Statistics -----------------------------------------------------------------------------


def test_statistics_for_the_user_and_for_staff(client, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    jobs.accept(milestone=delivered(job, deliverer), by=client_user)
    open_job(UserFactory(), 250)

    client.force_login(client_user)
    own = client.get(reverse("jobs:statistics"))
    sign_in_staff(client, deliverer)
    everyone = client.get(reverse("jobs:statistics") + "?scope=all")

    assert accessibility_problems(own) == []
    figures = [value.get_text() for value in page(own).select(".figure-value")][:4]
    assert figures == ["400", "600", "0", "0"]
    everyones = [v.get_text() for v in page(everyone).select(".figure-value")][:4]
    assert everyones == ["650", "600", "0", "0"]
    assert "Statistics of every job" in text(everyone)


def test_a_user_asking_for_every_jobs_statistics_sees_their_own(signed_in, client_user):
    open_job(UserFactory(), 250)

    response = signed_in.get(reverse("jobs:statistics") + "?scope=all")

    assert "Your jobs' statistics" in text(response)
    figures = [v.get_text() for v in page(response).select(".figure-value")]
    assert figures == ["0", "0", "0", "0", "—"]


def test_the_queue_and_a_big_jobs_planning_tab_run_fixed_queries(staff_client, client_user):
    def queries(address: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(address).status_code == 200
        return len(captured)

    small = open_job(client_user, 100)
    delivered(small, StaffFactory())
    big = open_job(UserFactory(), *([10] * 40))
    for index in range(3):
        delivered(big, StaffFactory(), index=index)
    planning = "?tab=planning"

    assert queries(reverse("jobs:detail", args=[big.pk]) + planning) == queries(
        reverse("jobs:detail", args=[small.pk]) + planning
    )
    few = queries(reverse("jobs:queue"))
    for n in range(20):
        open_job(UserFactory(), 100, title=f"Job {n}")
    assert queries(reverse("jobs:queue")) == few


def test_staff_cancel_a_job_only_with_a_reason(staff_client, client_user):
    job = open_job(client_user, 600, 400)
    url = reverse("jobs:cancel", args=[job.pk])

    silent = staff_client.post(url, {"reason": ""})
    said = staff_client.post(url, {"reason": "The client asked us by phone"})

    assert silent.status_code == 400
    assert "Give a reason" in error_beside(silent, "id_reason")
    assert said.status_code == 302
    assert state(client_user.wallet) == (1000, 0, 1000)


def test_accepting_in_part_twice_is_a_message_and_pays_once(signed_in, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    url = reverse("jobs:accept_in_part", args=[first.pk])
    data = {f"part-{first.pk}-amount": "450", f"part-{first.pk}-reason": "A logo short"}

    signed_in.post(url, data)
    again = signed_in.post(url, data, follow=True)

    assert "only a delivered milestone in review" in text(again)
    assert state(client_user.wallet) == (550, 400, 150)
