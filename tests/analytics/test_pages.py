"""The admin's credits flow page: who sees it, what it shows, and its CSV."""

import csv
import io

import pytest
from django.urls import reverse

from tests.analytics.test_credits_flow import at, ledger  # noqa: F401 (the fixture)
from tests.clients import sign_in_staff
from tests.factories import StaffFactory
from tests.pages import accessibility_problems, page, text

URL = reverse("admin:analytics_creditsflow_changelist")
ANALYST = ["analytics.view_analytics"]


def analyst(client):
    return sign_in_staff(client, StaffFactory(is_superuser=False, permissions=ANALYST))


def table(response) -> list[tuple[str, int]]:
    rows = page(response).select("#table-1 tbody tr")
    return [
        (row.th.get_text(strip=True), int(row.td.get_text(strip=True).replace(",", "")))
        for row in rows
    ]


@pytest.mark.django_db
def test_staff_without_the_permission_get_403_and_no_section(client):
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=["credits.view_wallet"]))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?format=csv").status_code == 403
    assert "Analytics" not in text(client.get(reverse("admin:index")))


@pytest.mark.django_db
def test_people_who_are_not_staff_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
def test_the_index_has_an_analytics_section_for_analysts(client):
    analyst(client)
    index = page(client.get(reverse("admin:index")))
    links = [a["href"] for a in index.select("#content-main a")]
    assert URL in links


def test_the_month_shows_its_flow_in_a_table_a_chart_and_the_same_csv(client, ledger):  # noqa: F811
    with at("2031-01-15T00:00"):
        analyst(client)  # signed in then: a session from before would have expired
        response = client.get(URL, {"from": "2030-10"})
        download = client.get(URL, {"from": "2030-10", "format": "csv"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    shown = dict(table(response))
    assert shown["Opening balance"] == 1390
    assert shown["Issued: refunds"] == 100
    assert shown["Taken back"] == 50
    assert shown["Closing balance"] == 1350
    assert "does not close" not in text(response)
    assert len(page(response).select("svg rect.analytics-bar")) == 6
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="creditsflow-2030-10-2030-10.csv"' in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["Credits flow, October 2030"]
    assert rows[1] == ["Figure", "Credits"]
    assert rows[-1] == []
    assert [(label, int(value)) for label, value in rows[2:-1]] == table(response)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["2030-13", "soon"])
def test_a_month_that_is_none_is_a_form_error_and_the_current_month_is_shown(client, bad):
    analyst(client)
    response = client.get(URL, {"from": bad})
    assert response.status_code == 200
    assert "is not a month: give it as YYYY-MM" in text(response)
    assert page(response).select_one("#id_from")["aria-invalid"] == "true"
    assert client.get(URL, {"from": bad, "format": "csv"})["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_download_the_page_does_not_offer_is_a_message_not_a_file(client):
    analyst(client)
    response = client.get(URL, {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "'pdf' is not a download this page offers: ask for format=csv." in text(response)
