"""The jobs API, as a partner program drives it: a draft written, planned and submitted (the
budget reserved), staff assign and deliver, the client decides; every bad input a 4xx with a code
and nothing changed; another user's job a 404; retries replayed under their Idempotency-Key."""

from datetime import timedelta

import pytest
from django.utils import timezone

from credits.models import CreditTransaction, Hold
from jobs.models import Activity, Job, Milestone
from tests.clients import Api, api_token
from tests.credits.conftest import fund, state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job, soon

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status


@pytest.fixture
def api(client_user):
    return Api(client_user)


@pytest.fixture
def staff_api(deliverer):
    return Api(deliverer)


def plan(*amounts: int, days: int = 7) -> dict:
    return {
        "milestones": [
            {"title": f"Part {n}", "due_date": str(soon(days * n)), "amount": amount}
            for n, amount in enumerate(amounts, start=1)
        ]
    }


def errors(response) -> list[tuple[str | None, str]]:
    return [(error["attr"], error["code"]) for error in response.json()["errors"]]


def step(api, job: Job, milestone: Milestone, name: str, body=None, **options):
    return api.post(f"jobs/{job.pk}/milestones/{milestone.pk}/{name}", body, **options)


# --- the whole flow ------------------------------------------------------------------------------


def test_the_whole_flow_through_the_api(api, staff_api, client_user, deliverer):
    fund(client_user.wallet, 1000)

    created = api.post(
        "jobs", {"title": "A brand refresh", "priority": "high"}, idempotency_key=None
    )
    job_id = created.json()["id"]
    edited = api.patch(f"jobs/{job_id}", {"company": "Acme", "budget": 1000})
    planned = api.put(f"jobs/{job_id}/milestones", plan(600, 400))
    linked = api.post(
        f"jobs/{job_id}/links", {"label": "Brand book", "url": "https://acme.example/brand"}
    )
    submitted = api.post(f"jobs/{job_id}/submit")

    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert edited.status_code == 200
    assert (edited.json()["company"], edited.json()["budget"]) == ("Acme", 1000)
    assert planned.status_code == 200
    assert [m["amount"] for m in planned.json()["milestones"]] == [600, 400]
    assert linked.status_code == 201
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "open"
    assert [m["status"] for m in submitted.json()["milestones"]] == ["funded", "funded"]
    assert submitted.json()["links"][0]["label"] == "Brand book"
    assert state(client_user.wallet) == (1000, 1000, 0)

    first, second = (m["id"] for m in submitted.json()["milestones"])
    queue = staff_api.get("admin/jobs")
    assigned = staff_api.post(f"admin/jobs/{job_id}/assign", {})
    delivery = {"message": "The logo.", "links": [{"label": "Logo", "url": "https://x.example"}]}
    first_delivery = staff_api.post(f"admin/jobs/{job_id}/milestones/{first}/deliver", delivery)
    changes = api.post(
        f"jobs/{job_id}/milestones/{first}/request-changes", {"reason": "Bigger, please."}
    )
    staff_api.post(f"admin/jobs/{job_id}/milestones/{first}/deliver", delivery)
    accepted = api.post(f"jobs/{job_id}/milestones/{first}/accept")
    staff_api.post(f"admin/jobs/{job_id}/milestones/{second}/deliver", delivery)
    in_part = api.post(
        f"jobs/{job_id}/milestones/{second}/accept-part",
        {"amount": 300, "reason": "One page missing"},
    )

    assert [j["id"] for j in queue.json()["results"]] == [job_id]
    assert assigned.status_code == 200
    assert (assigned.json()["status"], assigned.json()["assignee"]) == (
        "in_progress",
        deliverer.email,
    )
    assert first_delivery.status_code == 201
    assert first_delivery.json()["number"] == 1
    assert changes.json()["status"] == "changes_requested"
    assert (accepted.json()["status"], accepted.json()["paid"]) == ("accepted", 600)
    assert (in_part.json()["status"], in_part.json()["paid"]) == ("accepted_in_part", 300)
    assert state(client_user.wallet) == (100, 0, 100)
    job = api.get(f"jobs/{job_id}").json()
    assert job["status"] == "completed"
    deliveries = api.get(f"jobs/{job_id}/milestones/{first}/deliveries").json()["results"]
    assert [d["number"] for d in deliveries] == [1, 2]
    assert deliveries[0]["links"][0]["url"] == "https://x.example"
    log = api.get(f"jobs/{job_id}/activity?page_size=200").json()["results"]
    verbs = [entry["verb"] for entry in reversed(log)]
    assert verbs[:4] == ["created", "edited", "edited", "link_added"]
    assert verbs[4:] == [
        "submitted",
        "assigned",
        "delivered",
        "changes_requested",
        "delivered",
        "accepted",
        "delivered",
        "accepted_in_part",
        "completed",
    ]
    assert log[1]["reason"] == "One page missing"
    assert log[1]["details"] == {"captured": 300, "released": 100}


def test_cancelling_a_job_releases_its_credits(api, client_user):
    job = open_job(client_user, 600, 400)

    cancelled = api.post(f"jobs/{job.pk}/cancel", {"reason": "Plans changed."})

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert [m["status"] for m in cancelled.json()["milestones"]] == ["cancelled", "cancelled"]
    assert state(client_user.wallet) == (1000, 0, 1000)


def test_cancelling_one_milestone_gives_its_credits_back(api, client_user):
    job = open_job(client_user, 600, 400)

    cancelled = step(api, job, milestones(job)[1], "cancel")

    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert state(client_user.wallet) == (1000, 600, 400)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "code"),
    [(0, "min_value"), (-5, "min_value"), (2.5, "invalid"), ("100", "invalid"), (True, "invalid")],
)
def test_a_milestone_amount_that_is_not_a_whole_number_above_zero_is_a_400(
    api, client_user, amount, code
):
    job = draft_job(client_user, 100)
    body = plan(100)
    body["milestones"][0]["amount"] = amount

    response = api.put(f"jobs/{job.pk}/milestones", body)

    assert response.status_code == 400
    assert errors(response) == [("milestones.0.amount", code)]
    assert [m.amount for m in milestones(job)] == [100]


def test_a_milestone_beyond_the_budget_or_due_in_the_past_is_a_400_on_its_field(api, client_user):
    job = draft_job(client_user, 100)
    past = plan(50, 50)
    past["milestones"][1]["due_date"] = str(timezone.now().date() - timedelta(days=1))

    beyond = api.put(f"jobs/{job.pk}/milestones", plan(150))
    late = api.put(f"jobs/{job.pk}/milestones", past)

    assert errors(beyond) == [("milestones.0.amount", "invalid")]
    assert "more than the budget" in beyond.json()["errors"][0]["detail"]
    assert errors(late) == [("milestones.1.due_date", "invalid")]
    assert "in the past" in late.json()["errors"][0]["detail"]
    assert [m.amount for m in milestones(job)] == [100]


def test_milestones_that_do_not_add_up_cannot_be_submitted(api, client_user):
    job = draft_job(client_user, 100)
    fund(client_user.wallet, 1000)
    api.patch(f"jobs/{job.pk}", {"budget": 300})

    response = api.post(f"jobs/{job.pk}/submit")

    assert response.status_code == 400
    assert errors(response) == [("milestones", "invalid")]
    assert "add up to 100 credits but the budget is 300" in response.json()["errors"][0]["detail"]
    assert state(client_user.wallet) == (1000, 0, 1000)
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "ftp://a.example"])
def test_an_unsafe_address_is_a_400_on_its_field(api, client_user, url):
    job = draft_job(client_user, 100)

    link = api.post(f"jobs/{job.pk}/links", {"label": "x", "url": url})
    website = api.patch(f"jobs/{job.pk}", {"website": url})

    assert errors(link) == [("url", "invalid")]
    assert errors(website) == [("website", "invalid")]
    assert not job.links.exists()
    job.refresh_from_db()
    assert job.website == ""


def test_a_draft_field_of_the_wrong_kind_is_a_400_and_changes_nothing(api, client_user):
    job = draft_job(client_user, 100, title="Kept")

    responses = [
        api.patch(f"jobs/{job.pk}", {"title": "", "company": "New"}),
        api.patch(f"jobs/{job.pk}", {"priority": "whenever"}),
        api.patch(f"jobs/{job.pk}", {"budget": 0}),
        api.patch(f"jobs/{job.pk}", {"budget": 10.5}),
        api.patch(f"jobs/{job.pk}", {"status": "completed"}),
        api.post("jobs", {"summary": "No title"}, idempotency_key=None),
    ]

    assert [errors(r)[0] for r in responses] == [
        ("title", "blank"),
        ("priority", "invalid_choice"),
        ("budget", "min_value"),
        ("budget", "invalid"),
        ("status", "unknown_field"),
        ("title", "required"),
    ]
    job.refresh_from_db()
    assert (job.title, job.company, job.priority, job.budget) == ("Kept", "", "normal", 100)
    assert Job.objects.count() == 1


def test_a_nested_field_the_api_does_not_know_is_a_400(api, client_user, staff_api):
    job = draft_job(client_user, 100)
    body = plan(100)
    body["milestones"][0]["colour"] = "red"

    response = api.put(f"jobs/{job.pk}/milestones", body)

    assert errors(response) == [("milestones.0.colour", "unknown_field")]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"amount": 0, "reason": "x"}, ("amount", "min_value")),
        ({"amount": 1.5, "reason": "x"}, ("amount", "invalid")),
        ({"amount": -1, "reason": "x"}, ("amount", "min_value")),
        ({"amount": 100, "reason": "x"}, ("amount", "invalid")),
        ({"amount": 50, "reason": ""}, ("reason", "blank")),
    ],
)
def test_accepting_in_part_needs_less_than_the_amount_and_a_reason(
    api, client_user, deliverer, body, error
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)

    response = step(api, job, milestone, "accept-part", body)

    assert response.status_code == 400
    assert errors(response) == [error]
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED
    assert state(client_user.wallet) == (100, 100, 0)


def test_a_short_wallet_reserves_nothing_and_its_refusal_is_replayed(api, client_user):
    job = draft_job(client_user, 600, 400)
    fund(client_user.wallet, 700)

    refused = api.post(f"jobs/{job.pk}/submit", idempotency_key="submit-1")
    fund(client_user.wallet, 300)
    again = api.post(f"jobs/{job.pk}/submit", idempotency_key="submit-1")
    anew = api.post(f"jobs/{job.pk}/submit", idempotency_key="submit-2")

    assert refused.status_code == 422
    assert errors(refused) == [(None, "insufficient_credits")]
    assert "1000 asked, 700 available" in refused.json()["errors"][0]["detail"]
    assert (again.status_code, again.content) == (422, refused.content)
    assert again["Idempotent-Replayed"] == "true"
    assert anew.status_code == 200
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_delivering_a_milestone_that_is_not_funded_is_a_409(staff_api, client_user):
    job = draft_job(client_user, 100)

    response = staff_api.post(
        f"admin/jobs/{job.pk}/milestones/{milestones(job)[0].pk}/deliver",
        {"message": "Early.", "links": [{"label": "a", "url": "https://a.example"}]},
    )

    assert response.status_code == 409
    assert errors(response) == [(None, "wrong_status")]
    assert not milestones(job)[0].deliveries.exists()


def test_a_delivery_needs_a_message_and_a_file_or_link_of_the_job(staff_api, client_user):
    job = open_job(client_user, 100)
    address = f"admin/jobs/{job.pk}/milestones/{milestones(job)[0].pk}/deliver"

    nothing = staff_api.post(address, {"message": "Here."})
    no_message = staff_api.post(address, {"message": "", "links": []})
    foreign_file = staff_api.post(address, {"message": "Here.", "files": [999999]})
    unsafe = staff_api.post(
        address, {"message": "Here.", "links": [{"label": "a", "url": "javascript:x"}]}
    )

    assert errors(nothing) == [("files", "invalid")]
    assert errors(no_message) == [("message", "blank")]
    assert errors(foreign_file) == [("files", "invalid")]
    assert errors(unsafe) == [("url", "invalid")]
    assert milestones(job)[0].status == Status.FUNDED


def test_editing_a_submitted_job_is_a_409(api, client_user):
    job = open_job(client_user, 100)

    edited = api.patch(f"jobs/{job.pk}", {"title": "Changed"})
    replanned = api.put(f"jobs/{job.pk}/milestones", plan(100))

    assert errors(edited) == [(None, "wrong_status")]
    assert errors(replanned) == [(None, "wrong_status")]
    job.refresh_from_db()
    assert job.title == "A brand refresh"


# --- another user's job -------------------------------------------------------------------------


def test_another_users_job_is_a_404_everywhere(client_user, deliverer):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    stranger = Api(UserFactory())
    fund(stranger.user.wallet, 1000)
    at = f"jobs/{job.pk}"
    on = f"{at}/milestones/{milestone.pk}"

    answers = [
        stranger.get(at),
        stranger.get(f"{at}/activity"),
        stranger.get(f"{on}/deliveries"),
        stranger.patch(at, {"title": "Mine"}),
        stranger.put(f"{at}/milestones", plan(100)),
        stranger.post(f"{at}/links", {"label": "a", "url": "https://a.example"}),
        stranger.post(f"{at}/submit"),
        stranger.post(f"{at}/cancel"),
        stranger.post(f"{on}/accept"),
        stranger.post(f"{on}/accept-part", {"amount": 1, "reason": "x"}),
        stranger.post(f"{on}/request-changes", {"reason": "x"}),
        stranger.post(f"{on}/cancel"),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert {errors(a)[0][1] for a in answers} == {"not_found"}
    assert stranger.get("jobs").json()["results"] == []
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED
    assert state(client_user.wallet) == (100, 100, 0)


def test_a_milestone_of_another_job_is_a_404(api, client_user):
    job = open_job(client_user, 100)
    other = open_job(client_user, 50)

    response = step(api, job, milestones(other)[0], "cancel")

    assert response.status_code == 404
    assert milestones(other)[0].status == Status.FUNDED


def test_a_staff_members_own_api_token_reaches_only_their_own_jobs(client_user, deliverer):
    job = open_job(client_user, 100)
    client = Api(client_user).client
    token = {"HTTP_AUTHORIZATION": f"Token {api_token(deliverer)}"}

    response = client.get(f"/api/v1/jobs/{job.pk}", **token)

    assert response.status_code == 404


# --- idempotency --------------------------------------------------------------------------------


def test_a_retried_submit_replays_its_answer_and_reserves_once(api, client_user):
    job = draft_job(client_user, 600, 400)
    fund(client_user.wallet, 1000)

    first = api.post(f"jobs/{job.pk}/submit", idempotency_key="s")
    again = api.post(f"jobs/{job.pk}/submit", idempotency_key="s")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Hold.objects.filter(wallet=client_user.wallet).count() == 2
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_a_second_accept_replays_under_its_key_and_is_a_409_under_a_new_one(
    api, client_user, deliverer
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)

    first = step(api, job, milestone, "accept", idempotency_key="a")
    retried = step(api, job, milestone, "accept", idempotency_key="a")
    anew = step(api, job, milestone, "accept", idempotency_key="b")

    assert first.status_code == 200
    assert (retried.content, retried["Idempotent-Replayed"]) == (first.content, "true")
    assert anew.status_code == 409
    assert errors(anew) == [(None, "wrong_status")]
    captures = CreditTransaction.objects.filter(kind="capture", hold=milestone.hold)
    assert captures.count() == 1
    assert state(client_user.wallet) == (0, 0, 0)


def test_a_key_reused_for_another_request_is_a_409_and_does_nothing(api, client_user, deliverer):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    step(api, job, milestone, "request-changes", {"reason": "Bigger"}, idempotency_key="k")

    reused = step(
        api, job, milestone, "request-changes", {"reason": "Smaller"}, idempotency_key="k"
    )

    assert reused.status_code == 409
    assert errors(reused) == [(None, "idempotency_conflict")]
    assert Activity.objects.filter(verb="changes_requested").count() == 1


def test_a_submit_refused_for_its_input_keeps_nothing_and_may_be_corrected(api, client_user):
    job = draft_job(client_user, 100)
    fund(client_user.wallet, 300)
    api.patch(f"jobs/{job.pk}", {"budget": 300})

    refused = api.post(f"jobs/{job.pk}/submit", idempotency_key="fix-me")
    api.put(f"jobs/{job.pk}/milestones", plan(100, 200))
    corrected = api.post(f"jobs/{job.pk}/submit", idempotency_key="fix-me")

    assert refused.status_code == 400
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected
    assert state(client_user.wallet) == (300, 300, 0)


@pytest.mark.parametrize("name", ["submit", "cancel"])
def test_the_job_steps_that_move_credits_need_an_idempotency_key(api, client_user, name):
    job = draft_job(client_user, 100)
    fund(client_user.wallet, 100)

    response = api.post(f"jobs/{job.pk}/{name}", idempotency_key=None)

    assert response.status_code == 400
    assert errors(response) == [("Idempotency-Key", "required")]
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT


@pytest.mark.parametrize("name", ["accept", "accept-part", "request-changes", "cancel"])
def test_the_milestone_steps_need_an_idempotency_key(api, client_user, deliverer, name):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)

    response = step(api, job, milestone, name, {"amount": 1, "reason": "x"}, idempotency_key=None)

    assert errors(response) == [("Idempotency-Key", "required")]
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED


# --- lists: filters, ordering, pagination -------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [job["id"] for job in response.json()["results"]]


def test_the_list_filters_by_status_priority_and_due_dates(api, client_user):
    drafted = draft_job(client_user, 100, priority="urgent")
    opened = open_job(client_user, 100, priority="low")
    far = api.post("jobs", {"title": "Far"}, idempotency_key=None).json()["id"]
    api.put(f"jobs/{far}/milestones", plan(10, days=60))
    draft_job(UserFactory(), 100)  # someone else's

    assert ids(api.get("jobs")) == [far, opened.pk, drafted.pk]
    assert ids(api.get("jobs?status=open")) == [opened.pk]
    assert ids(api.get("jobs?priority=urgent")) == [drafted.pk]
    assert ids(api.get(f"jobs?due_before={soon(10)}")) == [opened.pk, drafted.pk]
    assert ids(api.get(f"jobs?due_after={soon(30)}")) == [far]
    assert ids(api.get(f"jobs?due_after={soon(30)}&due_before={soon(90)}")) == [far]


def test_the_list_sorts_by_priority_budget_and_age_across_pages(api, client_user):
    low = draft_job(client_user, 300, priority="low")
    urgent = draft_job(client_user, 100, priority="urgent")
    normal = draft_job(client_user, 200)

    def walk(query: str) -> list[int]:
        found, page = [], api.get(f"jobs?page_size=1&{query}").json()
        while True:
            found += [job["id"] for job in page["results"]]
            if not page["next"]:
                return found
            page = api.client.get(page["next"], **api.headers).json()

    assert walk("ordering=-priority") == [urgent.pk, normal.pk, low.pk]
    assert walk("ordering=priority") == [low.pk, normal.pk, urgent.pk]
    assert walk("ordering=-budget") == [low.pk, normal.pk, urgent.pk]
    assert walk("ordering=created_at") == [low.pk, urgent.pk, normal.pk]
    assert walk("") == [normal.pk, urgent.pk, low.pk]


@pytest.mark.parametrize(
    "query",
    ["status=finished", "priority=", "ordering=title", "due_before=soon", "page_size=0"],
)
def test_a_bad_list_parameter_is_a_400_naming_it(api, query):
    response = api.get(f"jobs?{query}")

    assert response.status_code == 400
    assert errors(response)[0][0] == query.split("=")[0]


# --- staff --------------------------------------------------------------------------------------


def test_staff_endpoints_need_a_two_factor_session_and_the_deliver_permission(client_user):
    job = open_job(client_user, 100)
    plain_staff = Api(StaffFactory(is_superuser=False))
    deliverer = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    token = {"HTTP_AUTHORIZATION": f"Token {api_token(deliverer)}"}

    as_client = Api(client_user).get("admin/jobs")
    as_plain_staff = plain_staff.get("admin/jobs")
    by_token = plain_staff.client.get("/api/v1/admin/jobs", **token)
    assign = plain_staff.post(f"admin/jobs/{job.pk}/assign", {})
    as_deliverer = Api(deliverer).get("admin/jobs")

    assert (as_client.status_code, errors(as_client)) == (403, [(None, "permission_denied")])
    assert errors(as_plain_staff) == [(None, "permission_denied")]
    assert "jobs.deliver" in as_plain_staff.json()["errors"][0]["detail"]
    assert errors(by_token) == [(None, "two_factor_required")]
    assert assign.status_code == 403
    assert ids(as_deliverer) == [job.pk]
    job.refresh_from_db()
    assert job.assignee is None


def test_the_queue_lists_live_jobs_most_pressing_first_and_filters(staff_api, deliverer):
    client = UserFactory()
    low = open_job(client, 100, priority="low")
    urgent = open_job(client, 100, priority="urgent")
    mine = open_job(client, 100)
    draft_job(client, 100, priority="urgent")  # not submitted: not in the queue
    staff_api.post(f"admin/jobs/{mine.pk}/assign", {})

    assert ids(staff_api.get("admin/jobs")) == [urgent.pk, mine.pk, low.pk]
    assert ids(staff_api.get("admin/jobs?assigned=me")) == [mine.pk]
    assert ids(staff_api.get("admin/jobs?assigned=nobody")) == [urgent.pk, low.pk]
    assert ids(staff_api.get("admin/jobs?status=in_progress")) == [mine.pk]
    assert ids(staff_api.get("admin/jobs?ordering=submitted_at")) == [low.pk, urgent.pk, mine.pk]
    assert staff_api.get("admin/jobs?status=draft").status_code == 400
    listed = staff_api.get("admin/jobs").json()["results"][1]
    assert (listed["client"], listed["assignee"]) == (client.email, deliverer.email)


def test_staff_assign_a_colleague_who_may_deliver_and_nobody_their_own_job(
    staff_api, client_user, deliverer
):
    job = open_job(client_user, 100)
    colleague = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    plain = StaffFactory(is_superuser=False)
    own = open_job(deliverer, 100)

    to_plain = staff_api.post(f"admin/jobs/{job.pk}/assign", {"assignee_email": plain.email})
    to_nobody = staff_api.post(f"admin/jobs/{job.pk}/assign", {"assignee_email": "no@x.example"})
    to_colleague = staff_api.post(
        f"admin/jobs/{job.pk}/assign", {"assignee_email": colleague.email.upper()}
    )
    to_self_on_own = staff_api.post(f"admin/jobs/{own.pk}/assign", {})
    missing = staff_api.post("admin/jobs/999999/assign", {})

    assert errors(to_plain) == [("assignee_email", "invalid")]
    assert errors(to_nobody) == [("assignee_email", "invalid")]
    assert to_colleague.json()["assignee"] == colleague.email
    assert errors(to_self_on_own) == [(None, "not_allowed")]
    assert missing.status_code == 404


def test_staff_see_any_job_with_its_milestones(staff_api, client_user):
    job = open_job(client_user, 60, 40)

    found = staff_api.get(f"admin/jobs/{job.pk}")

    assert found.status_code == 200
    assert found.json()["client"] == client_user.email
    assert [m["amount"] for m in found.json()["milestones"]] == [60, 40]
    assert staff_api.get("admin/jobs/999999").status_code == 404


# --- statistics ---------------------------------------------------------------------------------


def test_statistics_for_the_client_and_for_staff(api, staff_api, client_user, deliverer):
    job = open_job(client_user, 600, 400)
    first = milestones(job)[0]
    delivered(job, deliverer)
    step(api, job, first, "accept-part", {"amount": 450, "reason": "One logo missing"})
    draft_job(client_user, 50)
    open_job(UserFactory(), 70)

    mine = api.get("jobs/statistics").json()
    everyone = staff_api.get("admin/jobs/statistics").json()

    assert mine["jobs"] == 2
    assert set(mine["jobs_by_status"]) == set(Job.Status.values)
    assert mine["jobs_by_status"] == {
        "draft": 1,
        "open": 0,
        "in_progress": 1,
        "completed": 0,
        "cancelled": 0,
    }
    assert (mine["reserved"], mine["captured"], mine["released"]) == (400, 450, 150)
    assert mine["overdue_milestones"] == 0
    assert mine["median_review_hours"] is not None
    assert everyone["jobs"] == 3
    assert everyone["reserved"] == 470
    assert Api(UserFactory()).get("jobs/statistics").json()["jobs"] == 0
    assert Api(client_user).get("admin/jobs/statistics").status_code == 403
