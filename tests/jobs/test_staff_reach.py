"""Staff reach another user's job only with staff powers: a session that passed two-factor.

One rule (jobs.gate) for every jobs page and the files API: a staff member who may deliver
jobs but signed in with a password only is sent to pass two-factor (pages) or told the job does
not exist (API, where a token never carries staff powers) — and nothing changes meanwhile.
"""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from credits.models import Hold
from jobs import services as jobs
from jobs.models import File, Folder, Job
from tests.clients import Api, api_token, enrol_two_factor, sign_in_staff
from tests.jobs.conftest import delivered, milestones, open_job
from tests.jobs.files import upload, uploaded
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    job.file = upload(job, client_user)
    job.folder = jobs.create_folder(job=job, by=client_user, name="Drafts")
    return job


def page_requests(job) -> list[tuple[str, str, dict]]:
    """Every jobs page that shows or changes one job, with a valid form where it posts."""
    first = milestones(job)[0]
    file_args = [job.pk, job.file.pk]
    folder_args = [job.pk, job.folder.pk]
    return [
        ("get", reverse("jobs:detail", args=[job.pk]), {}),
        ("get", reverse("jobs:detail", args=[job.pk]) + "?tab=activity", {}),
        ("get", reverse("jobs:files", args=[job.pk]), {}),
        ("get", reverse("jobs:file_download", args=file_args), {}),
        ("post", reverse("jobs:cancel", args=[job.pk]), {"reason": "Client asked by phone."}),
        ("post", reverse("jobs:add_link", args=[job.pk]), {"label": "X", "url": "https://x.io"}),
        ("post", reverse("jobs:cancel_milestone", args=[first.pk]), {}),
        ("post", reverse("jobs:file_upload", args=[job.pk]), {"file": uploaded()}),
        ("post", reverse("jobs:file_delete", args=file_args), {}),
        ("post", reverse("jobs:file_move", args=file_args), {"folder": job.folder.pk}),
        ("post", reverse("jobs:folder_create", args=[job.pk]), {"name": "New"}),
        ("post", reverse("jobs:folder_rename", args=folder_args), {"name": "Renamed"}),
        ("post", reverse("jobs:folder_delete", args=folder_args), {}),
    ]


def state(job) -> tuple:
    """What any of those requests could change."""
    return (
        Job.objects.get(pk=job.pk).status,
        list(Hold.objects.filter(milestone__job=job).values_list("status", "captured_amount")),
        list(File.objects.filter(job=job).values_list("name", "folder_id")),
        list(Folder.objects.filter(job=job).values_list("name", flat=True)),
        job.links.count(),
        job.activity.count(),
    )


@pytest.mark.parametrize("enrolled", [False, True], ids=["not enrolled", "enrolled, not used"])
def test_staff_without_two_factor_are_sent_to_pass_it_and_nothing_changes(
    client, job, deliverer, enrolled
):
    if enrolled:
        enrol_two_factor(deliverer)
    client.force_login(deliverer)
    before = state(job)
    expected = reverse("mfa_reauthenticate") if enrolled else reverse("mfa_activate_totp")

    for method, address, data in page_requests(job):
        response = getattr(client, method)(address, data)

        assert response.status_code == 302, address
        assert response["Location"].startswith(expected), address
        if enrolled and method == "get":
            assert response["Location"].endswith(f"?{urlencode({'next': address})}")
    assert state(job) == before


def test_after_two_factor_a_post_comes_back_to_the_jobs_page(client, job, deliverer):
    enrol_two_factor(deliverer)
    client.force_login(deliverer)

    response = client.post(reverse("jobs:cancel", args=[job.pk]), {"reason": "Asked."})

    assert response["Location"] == (
        f"{reverse('mfa_reauthenticate')}?next=%2Fjobs%2F{job.pk}%2F"
    ), "a POST cannot be replayed by a redirect: the way back is the job's page"


def test_with_two_factor_staff_reach_every_page(client, job, deliverer):
    sign_in_staff(client, deliverer)

    for method, address, data in page_requests(job)[:4]:
        assert getattr(client, method)(address, data).status_code == 200, address
    response = client.post(reverse("jobs:cancel", args=[job.pk]), {"reason": "Asked by phone."})

    assert response.status_code == 302
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


def test_a_staff_member_reaches_their_own_job_without_staff_powers(client, deliverer):
    own = open_job(deliverer, 300)
    client.force_login(deliverer)

    assert client.get(reverse("jobs:detail", args=[own.pk])).status_code == 200


def test_a_token_never_reaches_another_users_job_files(job, deliverer):
    headers = {"HTTP_AUTHORIZATION": f"Token {api_token(deliverer)}"}
    api = Api(deliverer).client  # a session that passed two-factor...
    files = f"/api/v1/jobs/{job.pk}/files"
    one = f"{files}/{job.file.pk}"

    for address in (files, one, f"{one}/download"):
        assert api.get(address, **headers).status_code == 404, address  # ...but a token call
    upload_answer = api.post(files, {"file": uploaded()}, **headers)

    assert upload_answer.status_code == 404
    assert File.objects.filter(job=job).count() == 1


def test_a_two_factor_session_reaches_the_files_api(job, deliverer):
    api = Api(deliverer).client

    assert api.get(f"/api/v1/jobs/{job.pk}/files").json()["results"][0]["name"] == "logo.png"
    assert api.get(f"/api/v1/jobs/{job.pk}/files/{job.file.pk}/download").status_code == 200


def test_every_jobs_statistics_need_staff_powers(client, client_user, deliverer):
    open_job(client_user, 250)
    client.force_login(deliverer)

    without = text(client.get(reverse("jobs:statistics") + "?scope=all"))
    sign_in_staff(client, deliverer)
    with_powers = text(client.get(reverse("jobs:statistics") + "?scope=all"))

    assert "Your jobs' statistics" in without
    assert "Your jobs' statistics" not in with_powers


def test_the_client_needs_nothing_more(client, client_user, job, deliverer):
    delivered(job, deliverer)
    client.force_login(client_user)

    for method, address, data in page_requests(job)[:4]:
        assert getattr(client, method)(address, data).status_code == 200, address
