"""The API's documentation reads in a partner developer's order: operations grouped by tag
(Wallet, Transactions, Holds, Transfers, Jobs, Disputes, Account, Partner app, then Staff), not
by path, where every staff path (/admin/…) sorted first."""

import pytest
import yaml
from django.urls import reverse

pytestmark = pytest.mark.django_db

ORDER = [
    *("Wallet", "Transactions", "Holds", "Transfers", "Jobs", "Disputes", "Account"),
    *("Partner app", "Staff"),
]


@pytest.fixture
def document(client) -> dict:
    return yaml.safe_load(client.get(reverse("api-schema")).content)


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_schema_lists_its_tags_in_the_reading_order(document):
    assert [tag["name"] for tag in document["tags"]] == ORDER
    assert all(tag["description"] for tag in document["tags"])


def test_every_operation_has_one_known_tag_and_staff_paths_have_the_staff_tag(document):
    for path, method, operation in operations(document):
        assert len(operation["tags"]) == 1, (method, path)
        assert operation["tags"][0] in ORDER, (method, path)
        is_staff = path.startswith("/api/v1/admin/")
        assert (operation["tags"] == ["Staff"]) == is_staff, (method, path)


def test_operations_come_grouped_by_tag_in_that_order(document):
    positions = [ORDER.index(operation["tags"][0]) for _, _, operation in operations(document)]

    assert positions == sorted(positions)
    assert next(operations(document))[2]["tags"] == ["Wallet"]
