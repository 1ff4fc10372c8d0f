"""One list of event types: events.types.EVENT_TYPES, the OpenAPI schema's components and
docs/events.md name the same types, with the same versions, and document every field."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from credits import services
from events.models import Event
from events.payloads import PAYLOADS, LedgerEventData, component_name
from events.types import EVENT_TYPES
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import UserFactory
from tests.processes import PROJECT_DIR

DOC = (PROJECT_DIR / "docs" / "events.md").read_text()
# A type's row in docs/events.md: | `credits.spent` | 1 | meaning |
DOC_ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| (\d+) \|", re.MULTILINE)


@pytest.fixture(scope="module")
def schemas():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def test_every_event_type_has_a_payload_shape():
    assert set(PAYLOADS) == set(EVENT_TYPES)


@pytest.mark.django_db
def test_the_ledger_payload_has_the_fields_the_ledger_writes(everyone_listens):
    wallet = UserFactory().wallet
    fund(wallet, 100)
    services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    granted, spent = (
        Event.objects.get(type=name).data for name in ("credits.granted", "credits.spent")
    )
    documented = set(LedgerEventData().fields)
    assert set(granted) == documented  # credits arrived: with `source` and `expires_at`
    assert set(spent) == documented - {"source", "expires_at"}


def test_the_schema_has_a_component_for_every_event_type(schemas):
    events = {name for name in schemas if name.endswith("Event") and name != "Event"}
    assert events == {component_name(name) for name in EVENT_TYPES}
    for name, kind in EVENT_TYPES.items():
        component = schemas[component_name(name)]
        envelope, specific = component["allOf"]
        assert envelope == {"$ref": "#/components/schemas/Event"}
        assert specific["properties"]["type"]["enum"] == [name]
        assert specific["properties"]["version"]["enum"] == [kind.version]
        payload = specific["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
        assert set(schemas[payload]["properties"]) == set(PAYLOADS[name]().fields)
    assert set(schemas["Event"]["properties"]) == {"id", "type", "version", "timestamp", "data"}


def test_docs_events_md_lists_every_event_type_with_its_version():
    documented = {name: int(version) for name, version in DOC_ROW.findall(DOC)}
    assert documented == {name: kind.version for name, kind in EVENT_TYPES.items()}


def test_docs_events_md_names_every_payload_field():
    for serializer in set(PAYLOADS.values()):
        for field in serializer().fields:
            assert f"`{field}`" in DOC, (serializer.__name__, field)


def test_docs_events_md_ends_with_the_sections_others_write():
    headings = re.findall(r"^## .+$", DOC, re.MULTILINE)
    assert headings[-2:] == ["## Signed webhooks", "## E-mails to people"]
