"""One idempotency record: the API's stored responses move onto the ledger's records.

Until now the API kept its answers here (StoredResponse, under the client's key K) and the ledger
kept its own record of the same request (under "api:K"). From now on the client's key is the
ledger's key and the answer lives on that record. So, for each stored response: the ledger's
"api:K" record takes the key K and the answer (or, for a request that posted nothing, a record of
its own is made); a ledger record "api:K" with no stored response (the process stopped between
the two commits) takes the key K too, so a retry replays it instead of running again; approval
requests made through the API drop the prefix as well. Keys used before the migration still
replay. Reversing copies the answers back into StoredResponse.
"""

from django.db import migrations
from rest_framework.renderers import JSONRenderer

PREFIX = "api:"


def carry_over(records, approvals, stored_responses) -> int:
    """Move each stored response (an object with scope, key, fingerprint, status_code, body)
    onto the key's record; returns how many. Then drop the prefix of the ledger's API keys."""
    carried = 0
    for stored in stored_responses:
        answer = {
            "request_fingerprint": stored.fingerprint,
            "response_status": stored.status_code,
            "response_body": JSONRenderer().render(stored.body).decode(),
        }
        mine = records.filter(scope=stored.scope)
        if mine.filter(key=stored.key).exists():
            mine.filter(key=stored.key, response_status__isnull=True).update(**answer)
        elif mine.filter(key=PREFIX + stored.key).exists():
            mine.filter(key=PREFIX + stored.key).update(key=stored.key, **answer)
        else:
            records.create(
                scope=stored.scope,
                key=stored.key,
                operation="api",
                fingerprint=stored.fingerprint,
                created_at=stored.created_at,
                **answer,
            )
        carried += 1
    for record in records.filter(key__startswith=PREFIX).only("id", "scope", "key").iterator():
        bare = record.key[len(PREFIX) :]
        if not records.filter(scope=record.scope, key=bare).exists():
            records.filter(pk=record.pk).update(key=bare)
    for approval in approvals.filter(idempotency_key__startswith=PREFIX).iterator():
        approvals.filter(pk=approval.pk).update(
            idempotency_key=approval.idempotency_key[len(PREFIX) :]
        )
    return carried


def forward(apps, schema_editor):
    carry_over(
        apps.get_model("credits", "IdempotencyRecord").objects,
        apps.get_model("credits", "ApprovalRequest").objects,
        apps.get_model("integrations", "StoredResponse").objects.order_by("id").iterator(),
    )


def backward(apps, schema_editor):
    import json

    records = apps.get_model("credits", "IdempotencyRecord").objects
    stored = apps.get_model("integrations", "StoredResponse").objects
    for record in records.filter(response_status__isnull=False).iterator():
        stored.create(
            scope=record.scope,
            key=record.key,
            fingerprint=record.request_fingerprint,
            status_code=record.response_status,
            body=json.loads(record.response_body),
            created_at=record.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_idempotency_prune"),
        ("credits", "0006_api_answers_on_the_record"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RemoveIndex(model_name="storedresponse", name="integrations_response_age"),
        migrations.DeleteModel(name="StoredResponse"),
    ]
