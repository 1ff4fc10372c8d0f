"""Spends and holds as one call to a PostgreSQL function (credits.services.one_call).

`credits_take` claims the key, locks the wallet, applies the burn-down and writes every row a
spend (or a hold) writes, in one round trip and one statement's transaction: the wallet's row
stays locked only while the server works, not across three round trips and the Python between.

It decides only the plain case. Whenever the Python rules would do more than a plain spend (the
wallet is not active or not a user's, a grant is past its date, too few credits are available,
a low-balance threshold is crossed) it raises CDPY1 before any row stays written, and the Python
service runs the operation as it always has: one set of rules for refusals, expiry and alerts.

Nothing on SQLite: the Python implementation is the only one there.
"""

from django.db import migrations

TAKE = """
CREATE OR REPLACE FUNCTION credits_take(
    p_scope text, p_key text, p_operation text, p_fingerprint text, p_now timestamptz,
    p_kind text, p_wallet_id bigint, p_amount bigint, p_counter_wallet_id bigint,
    p_hold_expires_at timestamptz,
    p_description text, p_reference text, p_reference_type_id integer, p_reference_id text,
    p_metadata jsonb, p_actor_kind text, p_actor_user_id bigint, p_actor_app_id bigint,
    p_actor_label text,
    p_answer_status integer, p_answer_pieces text[], p_answer_names text[],
    p_request_fingerprint text
) RETURNS TABLE (
    outcome text, record_id bigint, transaction_id bigint, hold_id bigint, balance bigint,
    held bigint, alerts jsonb
) LANGUAGE plpgsql AS $$
DECLARE
    v_record bigint;
    v_txn bigint;
    v_hold bigint;
    v_wallet credits_wallet%ROWTYPE;
    v_left bigint := p_amount;
    v_take bigint;
    v_grant record;
    v_body text;
    v_value text;
BEGIN
    -- The key first, as run_operation claims it: a concurrent claim of the same key waits here.
    INSERT INTO credits_idempotencyrecord
        (scope, key, operation, fingerprint, refusal_code, refusal_message,
         request_fingerprint, response_body, created_at)
    VALUES (p_scope, p_key, p_operation, p_fingerprint, '', '', '', '', p_now)
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id INTO v_record;
    IF v_record IS NULL THEN
        RETURN QUERY SELECT 'replay'::text, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;

    SELECT * INTO v_wallet FROM credits_wallet w
    WHERE w.id = p_wallet_id AND w.kind = 'user' FOR UPDATE;
    IF NOT FOUND OR v_wallet.status <> 'active' THEN
        RAISE EXCEPTION 'credits_take: the wallet is not an active user wallet'
            USING ERRCODE = 'CDPY1';
    END IF;
    -- Read after the lock (a statement of its own, so a snapshot of its own): current grants.
    IF EXISTS (
        SELECT 1 FROM credits_creditgrant g
        WHERE g.wallet_id = p_wallet_id AND g.remaining > 0 AND g.expires_at <= p_now
    ) THEN
        RAISE EXCEPTION 'credits_take: credits past their date' USING ERRCODE = 'CDPY1';
    END IF;
    IF p_amount > v_wallet.balance - v_wallet.held THEN
        RAISE EXCEPTION 'credits_take: not enough credits' USING ERRCODE = 'CDPY1';
    END IF;
    -- A spend takes the credits out of the balance; a hold keeps them in it, reserved.
    IF p_kind = 'spend' THEN
        v_wallet.balance := v_wallet.balance - p_amount;
    ELSIF p_kind = 'hold' THEN
        v_wallet.held := v_wallet.held + p_amount;
    ELSE
        RAISE EXCEPTION 'credits_take: no operation %', p_kind;
    END IF;
    -- credits.thresholds.crossed: the available balance now stands on the other side of a
    -- threshold than its state says.
    IF jsonb_typeof(v_wallet.alerts) = 'array' AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(v_wallet.alerts) a
        WHERE (v_wallet.balance - v_wallet.held < (a ->> 'threshold')::bigint)
            <> (a ->> 'state' = 'below')
    ) THEN
        RAISE EXCEPTION 'credits_take: a low-balance threshold crossed' USING ERRCODE = 'CDPY1';
    END IF;

    IF p_kind = 'hold' THEN
        INSERT INTO credits_hold
            (wallet_id, amount, captured_amount, status, description, reference, metadata,
             expires_at, created_at)
        VALUES (p_wallet_id, p_amount, 0, 'open', p_description, p_reference, p_metadata,
            p_hold_expires_at, p_now)
        RETURNING id INTO v_hold;
    END IF;
    INSERT INTO credits_credittransaction
        (kind, wallet_id, amount, description, reference, reference_type_id, reference_id,
         metadata, actor_kind, actor_user_id, actor_app_id, actor_label,
         idempotency_record_id, reverses_id, hold_id, created_at)
    VALUES (p_kind, p_wallet_id, p_amount, p_description, p_reference, p_reference_type_id,
        p_reference_id, p_metadata, p_actor_kind, p_actor_user_id, p_actor_app_id,
        p_actor_label, v_record, NULL, v_hold, p_now)
    RETURNING id INTO v_txn;
    IF p_kind = 'spend' THEN  -- a hold has no legs: it moves no posted credits
        INSERT INTO credits_entry (transaction_id, wallet_id, amount, balance_after, created_at)
        VALUES (v_txn, p_wallet_id, -p_amount, v_wallet.balance, p_now),
            (v_txn, p_counter_wallet_id, p_amount, NULL, p_now);
    END IF;

    -- The burn-down (credits.services.locks.BURN_DOWN_ORDER).
    FOR v_grant IN
        SELECT g.id, g.remaining FROM credits_creditgrant g
        WHERE g.wallet_id = p_wallet_id AND g.remaining > 0
        ORDER BY g.priority, g.expires_at NULLS LAST, g.is_promotional DESC, g.id
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_grant.remaining, v_left);
        UPDATE credits_creditgrant SET remaining = remaining - v_take WHERE id = v_grant.id;
        INSERT INTO credits_allocation (transaction_id, grant_id, amount)
        VALUES (v_txn, v_grant.id, v_take);
        v_left := v_left - v_take;
    END LOOP;
    IF v_left <> 0 THEN
        -- The wallet's balance says more than its grants hold: never spend what is not there.
        RAISE EXCEPTION 'credits_take: wallet % has % credits its grants do not hold',
            p_wallet_id, v_left USING ERRCODE = 'CDPY1';
    END IF;
    UPDATE credits_wallet SET balance = v_wallet.balance, held = v_wallet.held
    WHERE id = p_wallet_id;

    IF p_answer_pieces IS NOT NULL THEN
        -- What the API answers: its body made by the serializer, with the figures only known
        -- here put in their places.
        v_body := p_answer_pieces[1];
        FOR i IN 1 .. coalesce(array_length(p_answer_names, 1), 0) LOOP
            v_value := CASE p_answer_names[i]
                WHEN 'transaction_id' THEN v_txn::text
                WHEN 'hold_id' THEN v_hold::text
                WHEN 'balance' THEN v_wallet.balance::text
                WHEN 'held' THEN v_wallet.held::text
                WHEN 'available' THEN (v_wallet.balance - v_wallet.held)::text
            END;
            IF v_value IS NULL THEN
                RAISE EXCEPTION 'credits_take: no figure named %', p_answer_names[i];
            END IF;
            v_body := v_body || v_value || p_answer_pieces[i + 1];
        END LOOP;
        UPDATE credits_idempotencyrecord
        SET response_status = p_answer_status, response_body = v_body,
            request_fingerprint = p_request_fingerprint
        WHERE id = v_record;
    END IF;

    RETURN QUERY SELECT 'done'::text, v_record, v_txn, v_hold, v_wallet.balance,
        v_wallet.held, v_wallet.alerts;
END
$$;
"""

DROP_TAKE = "DROP FUNCTION IF EXISTS credits_take"


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the body's % placeholders are RAISE's, not the driver's.
        schema_editor.execute(TAKE, params=None)


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TAKE)


class Migration(migrations.Migration):
    dependencies = [("credits", "0011_wallet_alerts_and_expiry_warnings")]

    operations = [migrations.RunPython(create_functions, drop_functions)]
