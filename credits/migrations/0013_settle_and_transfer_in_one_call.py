"""Captures, releases and transfers as one call each (credits.services.one_call), as 0012 made
spends and holds.

`credits_settle` captures a hold (all or part; a final capture gives the rest back) or releases
it; `credits_transfer` moves paid credits from one user's wallet to another's. Each claims the
key, locks the wallet(s) in id order, decides and writes every row in one round trip.

As `credits_take`, they decide only the plain case and raise CDPY1 before any row stays written
whenever the Python rules would do more or refuse: the hold is not open, not the caller's, or
not as the caller read it; a wallet is not active (a frozen receiver is plain; a release
on a frozen wallet, such as a disputed payment's hold, is left to Python); credits going
back to a grant past its date; too few credits, or past the daily transfer limit; a low-balance
threshold crossed. The Python service then runs the operation as it always has.

Nothing on SQLite: the Python implementation is the only one there.
"""

from django.db import migrations

# The caller's idempotency scope, as credits.actors.Actor.idempotency_scope makes it, of the
# actor who placed a hold (its hold transaction's actor columns).
SCOPE_OF_PLACER = """
CREATE OR REPLACE FUNCTION credits_scope_of(
    p_kind text, p_user_id bigint, p_app_id bigint, p_label text
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_kind IN ('user', 'staff') THEN 'user:' || coalesce(p_user_id::text, 'None')
        WHEN p_kind = 'app' THEN 'app:' || coalesce(p_app_id::text, 'None')
            || coalesce(':' || nullif(p_user_id, 0)::text, '')
        ELSE 'system:' || p_label
    END
$$;
"""

# credits.thresholds.crossed, as credits_take asks it.
CROSSED = """
CREATE OR REPLACE FUNCTION credits_crossed(p_alerts jsonb, p_available bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(p_alerts) = 'array' AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(p_alerts) a
        WHERE (p_available < (a ->> 'threshold')::bigint) <> (a ->> 'state' = 'below')
    )
$$;
"""

# The key's record, claimed as run_operation claims it; NULL when the key was taken.
CLAIM = """
CREATE OR REPLACE FUNCTION credits_claim(
    p_scope text, p_key text, p_operation text, p_fingerprint text, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_record bigint;
BEGIN
    INSERT INTO credits_idempotencyrecord
        (scope, key, operation, fingerprint, refusal_code, refusal_message,
         request_fingerprint, response_body, created_at)
    VALUES (p_scope, p_key, p_operation, p_fingerprint, '', '', '', '', p_now)
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id INTO v_record;
    RETURN v_record;
END
$$;
"""

# What the API answers: the serializer's body with the figures only known in the function put
# in their places (credits_take does the same for spends and holds), kept on the key's record.
KEEP_ANSWER = """
CREATE OR REPLACE FUNCTION credits_keep_answer(
    p_record bigint, p_status integer, p_pieces text[], p_names text[],
    p_request_fingerprint text, p_figures jsonb
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_body text;
    v_value text;
BEGIN
    IF p_pieces IS NULL THEN
        RETURN;
    END IF;
    v_body := p_pieces[1];
    FOR i IN 1 .. coalesce(array_length(p_names, 1), 0) LOOP
        v_value := p_figures ->> p_names[i];
        IF v_value IS NULL THEN
            RAISE EXCEPTION 'credits_keep_answer: no figure named %', p_names[i];
        END IF;
        v_body := v_body || v_value || p_pieces[i + 1];
    END LOOP;
    UPDATE credits_idempotencyrecord
    SET response_status = p_status, response_body = v_body,
        request_fingerprint = p_request_fingerprint
    WHERE id = p_record;
END
$$;
"""

SETTLE = """
CREATE OR REPLACE FUNCTION credits_settle(
    p_scope text, p_key text, p_operation text, p_fingerprint text, p_now timestamptz,
    p_kind text, p_hold_id bigint, p_wallet_id bigint, p_captured_before bigint,
    p_hold_description text, p_amount bigint, p_final boolean,
    p_description text, p_release_description text, p_metadata jsonb,
    p_actor_kind text, p_actor_user_id bigint, p_actor_app_id bigint, p_actor_label text,
    p_consumption_id bigint,
    p_answer_status integer, p_answer_pieces text[], p_answer_names text[],
    p_request_fingerprint text
) RETURNS TABLE (
    outcome text, record_id bigint, transaction_id bigint, release_id bigint, balance bigint,
    held bigint, alerts jsonb
) LANGUAGE plpgsql AS $$
DECLARE
    v_record bigint;
    v_wallet credits_wallet%ROWTYPE;
    v_hold credits_hold%ROWTYPE;
    v_placer record;
    v_mark record;
    v_skip bigint;
    v_portion bigint;
    v_take bigint;
    v_capture bigint := 0;
    v_capture_left bigint;
    v_closing boolean;
    v_returned bigint := 0;
    v_rest_past_date boolean := false;
    v_capture_grants bigint[] := '{}';
    v_capture_amounts bigint[] := '{}';
    v_rest_grants bigint[] := '{}';
    v_rest_amounts bigint[] := '{}';
    v_txn bigint;
    v_release bigint;
BEGIN
    v_record := credits_claim(p_scope, p_key, p_operation, p_fingerprint, p_now);
    IF v_record IS NULL THEN
        RETURN QUERY SELECT 'replay'::text, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;

    SELECT * INTO v_wallet FROM credits_wallet w
    WHERE w.id = p_wallet_id AND w.kind = 'user' FOR UPDATE;
    IF NOT FOUND OR v_wallet.status <> 'active' THEN
        RAISE EXCEPTION 'credits_settle: the wallet is not an active user wallet'
            USING ERRCODE = 'CDPY1';
    END IF;
    -- The hold under its wallet's lock, as the caller read it (what it answers was made from
    -- that): else the Python rules re-read it and decide.
    SELECT * INTO v_hold FROM credits_hold h WHERE h.id = p_hold_id;
    IF NOT FOUND OR v_hold.wallet_id <> p_wallet_id OR v_hold.status <> 'open'
            OR v_hold.captured_amount <> p_captured_before
            OR v_hold.description <> p_hold_description THEN
        RAISE EXCEPTION 'credits_settle: the hold is not open as read' USING ERRCODE = 'CDPY1';
    END IF;
    -- holds._require_placer: only whoever placed it settles it (staff and the system any).
    IF p_actor_kind NOT IN ('staff', 'system') THEN
        SELECT t.actor_kind, t.actor_user_id, t.actor_app_id, t.actor_label INTO v_placer
        FROM credits_credittransaction t
        WHERE t.hold_id = p_hold_id AND t.kind = 'hold' ORDER BY t.id LIMIT 1;
        IF NOT FOUND OR credits_scope_of(v_placer.actor_kind, v_placer.actor_user_id,
                v_placer.actor_app_id, v_placer.actor_label) <> p_scope THEN
            RAISE EXCEPTION 'credits_settle: not the placer' USING ERRCODE = 'CDPY1';
        END IF;
    END IF;
    IF p_kind = 'capture' THEN
        v_capture := p_amount;
        IF v_capture > v_hold.amount - v_hold.captured_amount THEN
            RAISE EXCEPTION 'credits_settle: more than the hold has' USING ERRCODE = 'CDPY1';
        END IF;
        v_closing := p_final OR v_hold.captured_amount + v_capture = v_hold.amount;
    ELSIF p_kind = 'release' THEN
        v_closing := true;
    ELSE
        RAISE EXCEPTION 'credits_settle: no operation %', p_kind;
    END IF;

    -- burn_down.earmarks and split: the portions the hold reserved, past what it captured,
    -- the first v_capture of them captured now, the rest given back if it closes.
    v_skip := v_hold.captured_amount;
    v_capture_left := v_capture;
    FOR v_mark IN
        SELECT a.grant_id, a.amount, g.expires_at FROM credits_allocation a
        JOIN credits_credittransaction t ON t.id = a.transaction_id
        JOIN credits_creditgrant g ON g.id = a.grant_id
        WHERE t.hold_id = p_hold_id AND t.kind = 'hold' ORDER BY a.id
    LOOP
        v_portion := v_mark.amount;
        IF v_skip >= v_portion THEN
            v_skip := v_skip - v_portion;
            CONTINUE;
        END IF;
        v_portion := v_portion - v_skip;
        v_skip := 0;
        v_take := least(v_portion, v_capture_left);
        IF v_take > 0 THEN
            v_capture_grants := v_capture_grants || v_mark.grant_id;
            v_capture_amounts := v_capture_amounts || v_take;
            v_capture_left := v_capture_left - v_take;
        END IF;
        IF v_portion > v_take THEN
            v_rest_grants := v_rest_grants || v_mark.grant_id;
            v_rest_amounts := v_rest_amounts || (v_portion - v_take);
            v_returned := v_returned + (v_portion - v_take);
            v_rest_past_date := v_rest_past_date
                OR (v_mark.expires_at IS NOT NULL AND v_mark.expires_at <= p_now);
        END IF;
    END LOOP;
    IF v_capture_left <> 0 THEN
        RAISE EXCEPTION 'credits_settle: hold % reserves less than it says', p_hold_id
            USING ERRCODE = 'CDPY1';
    END IF;
    IF v_closing AND v_returned <> v_hold.amount - v_hold.captured_amount - v_capture THEN
        -- What it gives back must be what it still reserved (the caller's answer and events
        -- say so): the Python rules decide a hold whose portions say otherwise.
        RAISE EXCEPTION 'credits_settle: hold % reserves other than it says', p_hold_id
            USING ERRCODE = 'CDPY1';
    END IF;
    IF NOT v_closing THEN
        v_returned := 0;
    ELSIF v_returned > 0 AND v_rest_past_date THEN
        -- Credits going back to a grant past its date expire at once: the Python rules'.
        RAISE EXCEPTION 'credits_settle: credits back past their date' USING ERRCODE = 'CDPY1';
    ELSIF p_kind = 'release' AND v_returned = 0 THEN
        RAISE EXCEPTION 'credits_settle: nothing to release' USING ERRCODE = 'CDPY1';
    END IF;
    v_wallet.balance := v_wallet.balance - v_capture;
    v_wallet.held := v_wallet.held - v_capture - v_returned;
    IF credits_crossed(v_wallet.alerts, v_wallet.balance - v_wallet.held) THEN
        RAISE EXCEPTION 'credits_settle: a low-balance threshold crossed' USING ERRCODE = 'CDPY1';
    END IF;

    IF p_kind = 'capture' THEN
        INSERT INTO credits_credittransaction
            (kind, wallet_id, amount, description, reference, reference_type_id, reference_id,
             metadata, actor_kind, actor_user_id, actor_app_id, actor_label,
             idempotency_record_id, reverses_id, hold_id, created_at)
        VALUES ('capture', p_wallet_id, v_capture, p_description, '', NULL, '', p_metadata,
            p_actor_kind, p_actor_user_id, p_actor_app_id, p_actor_label, v_record, NULL,
            p_hold_id, p_now)
        RETURNING id INTO v_txn;
        INSERT INTO credits_entry (transaction_id, wallet_id, amount, balance_after, created_at)
        VALUES (v_txn, p_wallet_id, -v_capture, v_wallet.balance, p_now),
            (v_txn, p_consumption_id, v_capture, NULL, p_now);
        INSERT INTO credits_allocation (transaction_id, grant_id, amount)
        SELECT v_txn, c.grant_id, c.amount
        FROM unnest(v_capture_grants, v_capture_amounts) WITH ORDINALITY
            AS c(grant_id, amount, n)
        ORDER BY c.n;
    END IF;
    IF v_returned > 0 THEN
        -- A release asked for by itself is the operation's (it carries the key and the
        -- caller's metadata); one that closes a capture's remainder is not.
        INSERT INTO credits_credittransaction
            (kind, wallet_id, amount, description, reference, reference_type_id, reference_id,
             metadata, actor_kind, actor_user_id, actor_app_id, actor_label,
             idempotency_record_id, reverses_id, hold_id, created_at)
        VALUES ('release', p_wallet_id, v_returned, p_release_description, '', NULL, '',
            CASE WHEN p_kind = 'release' THEN p_metadata ELSE '{}'::jsonb END,
            p_actor_kind, p_actor_user_id, p_actor_app_id, p_actor_label,
            CASE WHEN p_kind = 'release' THEN v_record END, NULL, p_hold_id, p_now)
        RETURNING id INTO v_release;
        INSERT INTO credits_allocation (transaction_id, grant_id, amount)
        SELECT v_release, r.grant_id, r.amount
        FROM unnest(v_rest_grants, v_rest_amounts) WITH ORDINALITY AS r(grant_id, amount, n)
        ORDER BY r.n;
        UPDATE credits_creditgrant g SET remaining = g.remaining + back.amount
        FROM (
            SELECT r.grant_id, sum(r.amount) AS amount
            FROM unnest(v_rest_grants, v_rest_amounts) AS r(grant_id, amount)
            GROUP BY r.grant_id
        ) back
        WHERE g.id = back.grant_id;
    END IF;
    UPDATE credits_hold SET captured_amount = v_hold.captured_amount + v_capture,
        status = CASE WHEN NOT v_closing THEN status
            WHEN p_kind = 'capture' THEN 'captured' ELSE 'released' END,
        closed_at = CASE WHEN v_closing THEN p_now ELSE closed_at END
    WHERE id = p_hold_id;
    UPDATE credits_wallet SET balance = v_wallet.balance, held = v_wallet.held
    WHERE id = p_wallet_id;

    PERFORM credits_keep_answer(v_record, p_answer_status, p_answer_pieces, p_answer_names,
        p_request_fingerprint, jsonb_build_object(
            'transaction_id', coalesce(v_txn, v_release), 'balance', v_wallet.balance,
            'held', v_wallet.held, 'available', v_wallet.balance - v_wallet.held));
    RETURN QUERY SELECT 'done'::text, v_record, coalesce(v_txn, v_release), v_release,
        v_wallet.balance, v_wallet.held, v_wallet.alerts;
END
$$;
"""

TRANSFER = """
CREATE OR REPLACE FUNCTION credits_transfer(
    p_scope text, p_key text, p_operation text, p_fingerprint text, p_now timestamptz,
    p_sender_id bigint, p_receiver_id bigint, p_amount bigint, p_clearing_id bigint,
    p_limit bigint, p_day_start timestamptz,
    p_description text, p_metadata jsonb,
    p_actor_kind text, p_actor_user_id bigint, p_actor_app_id bigint, p_actor_label text,
    p_answer_status integer, p_answer_pieces text[], p_answer_names text[],
    p_request_fingerprint text
) RETURNS TABLE (
    outcome text, record_id bigint, transaction_id bigint, balance bigint, held bigint,
    alerts jsonb, receiver_balance bigint, receiver_held bigint, receiver_expires_at jsonb
) LANGUAGE plpgsql AS $$
DECLARE
    v_record bigint;
    v_sender credits_wallet%ROWTYPE;
    v_receiver credits_wallet%ROWTYPE;
    v_sent bigint;
    v_left bigint := p_amount;
    v_take bigint;
    v_grant record;
    v_txn bigint;
    v_first_expiry timestamptz;
BEGIN
    v_record := credits_claim(p_scope, p_key, p_operation, p_fingerprint, p_now);
    IF v_record IS NULL THEN
        RETURN QUERY SELECT 'replay'::text, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::jsonb, NULL::bigint, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;

    -- Both wallets locked in id order (locks.lock_wallets), so two transfers never deadlock;
    -- then read, each statement with a snapshot of its own, taken after the locks.
    PERFORM 1 FROM credits_wallet w
    WHERE w.id IN (p_sender_id, p_receiver_id) AND w.kind = 'user' ORDER BY w.id FOR UPDATE;
    SELECT * INTO v_sender FROM credits_wallet w WHERE w.id = p_sender_id AND w.kind = 'user';
    SELECT * INTO v_receiver FROM credits_wallet w
    WHERE w.id = p_receiver_id AND w.kind = 'user';
    IF p_sender_id = p_receiver_id OR v_sender.id IS NULL OR v_receiver.id IS NULL
            OR v_sender.status <> 'active'
            OR v_receiver.status NOT IN ('active', 'frozen') THEN
        RAISE EXCEPTION 'credits_transfer: the wallets cannot transfer' USING ERRCODE = 'CDPY1';
    END IF;
    IF p_limit IS NOT NULL THEN
        SELECT coalesce(sum(t.amount), 0) INTO v_sent FROM credits_credittransaction t
        WHERE t.wallet_id = p_sender_id AND t.kind = 'transfer' AND t.created_at >= p_day_start;
        IF p_amount > greatest(p_limit - v_sent, 0) THEN
            RAISE EXCEPTION 'credits_transfer: past the daily limit' USING ERRCODE = 'CDPY1';
        END IF;
    END IF;
    IF EXISTS (
        SELECT 1 FROM credits_creditgrant g
        WHERE g.wallet_id = p_sender_id AND g.remaining > 0 AND g.expires_at <= p_now
    ) THEN
        RAISE EXCEPTION 'credits_transfer: credits past their date' USING ERRCODE = 'CDPY1';
    END IF;
    v_sender.balance := v_sender.balance - p_amount;
    v_receiver.balance := v_receiver.balance + p_amount;
    IF credits_crossed(v_sender.alerts, v_sender.balance - v_sender.held)
            OR credits_crossed(v_receiver.alerts, v_receiver.balance - v_receiver.held) THEN
        RAISE EXCEPTION 'credits_transfer: a low-balance threshold crossed'
            USING ERRCODE = 'CDPY1';
    END IF;

    INSERT INTO credits_credittransaction
        (kind, wallet_id, amount, description, reference, reference_type_id, reference_id,
         metadata, actor_kind, actor_user_id, actor_app_id, actor_label,
         idempotency_record_id, reverses_id, hold_id, created_at)
    VALUES ('transfer', p_sender_id, p_amount, p_description, '', NULL, '', p_metadata,
        p_actor_kind, p_actor_user_id, p_actor_app_id, p_actor_label, v_record, NULL, NULL,
        p_now)
    RETURNING id INTO v_txn;
    -- Through the transfers account, which every transfer leaves as it found it.
    INSERT INTO credits_entry (transaction_id, wallet_id, amount, balance_after, created_at)
    VALUES (v_txn, p_sender_id, -p_amount, v_sender.balance, p_now),
        (v_txn, p_clearing_id, p_amount, NULL, p_now),
        (v_txn, p_clearing_id, -p_amount, NULL, p_now),
        (v_txn, p_receiver_id, p_amount, v_receiver.balance, p_now);

    -- The burn-down of the paid credits (transfers.transferable: not promotional, not staff's),
    -- each portion a grant of the receiver's with the same expiry and cost basis.
    FOR v_grant IN
        SELECT g.id, g.remaining, g.expires_at, g.cost_basis, g.currency
        FROM credits_creditgrant g
        WHERE g.wallet_id = p_sender_id AND g.remaining > 0 AND NOT g.is_promotional
            AND g.source <> 'admin'
        ORDER BY g.priority, g.expires_at NULLS LAST, g.is_promotional DESC, g.id
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_grant.remaining, v_left);
        UPDATE credits_creditgrant SET remaining = remaining - v_take WHERE id = v_grant.id;
        INSERT INTO credits_allocation (transaction_id, grant_id, amount)
        VALUES (v_txn, v_grant.id, v_take);
        INSERT INTO credits_creditgrant
            (wallet_id, source, amount, remaining, expired_amount, expires_at, priority,
             is_promotional, cost_basis, currency, transaction_id, created_at)
        VALUES (p_receiver_id, 'transfer', v_take, v_take, 0, v_grant.expires_at, 50, false,
            v_grant.cost_basis, v_grant.currency, v_txn, p_now);
        IF v_grant.expires_at IS NOT NULL THEN
            v_first_expiry := least(v_first_expiry, v_grant.expires_at);
        END IF;
        v_left := v_left - v_take;
    END LOOP;
    IF v_left <> 0 THEN
        -- Not enough paid credits: the Python rules refuse, with the figures.
        RAISE EXCEPTION 'credits_transfer: not enough paid credits' USING ERRCODE = 'CDPY1';
    END IF;
    UPDATE credits_wallet SET balance = v_sender.balance WHERE id = p_sender_id;
    UPDATE credits_wallet SET balance = v_receiver.balance WHERE id = p_receiver_id;

    PERFORM credits_keep_answer(v_record, p_answer_status, p_answer_pieces, p_answer_names,
        p_request_fingerprint, jsonb_build_object(
            'transaction_id', v_txn, 'balance', v_sender.balance, 'held', v_sender.held,
            'available', v_sender.balance - v_sender.held));
    -- The receiver's event says when the first of its new credits expire, in the text the
    -- events' JSON encoder (Django's) writes a datetime in: milliseconds, cut, and "Z".
    RETURN QUERY SELECT 'done'::text, v_record, v_txn, v_sender.balance, v_sender.held,
        v_sender.alerts, v_receiver.balance, v_receiver.held,
        CASE WHEN v_first_expiry IS NULL THEN 'null'::jsonb ELSE to_jsonb(
            to_char(v_first_expiry AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN extract(microseconds FROM v_first_expiry)::bigint % 1000000 = 0
                THEN ''
                ELSE '.' || lpad(
                    ((extract(microseconds FROM v_first_expiry)::bigint % 1000000) / 1000)::text,
                    3, '0')
            END || 'Z') END;
END
$$;
"""

FUNCTIONS = [SCOPE_OF_PLACER, CROSSED, CLAIM, KEEP_ANSWER, SETTLE, TRANSFER]
DROPS = [
    "DROP FUNCTION IF EXISTS credits_transfer",
    "DROP FUNCTION IF EXISTS credits_settle",
    "DROP FUNCTION IF EXISTS credits_keep_answer",
    "DROP FUNCTION IF EXISTS credits_claim",
    "DROP FUNCTION IF EXISTS credits_crossed",
    "DROP FUNCTION IF EXISTS credits_scope_of",
]


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for function in FUNCTIONS:
            # params=None: the bodies' % placeholders are RAISE's, not the driver's.
            schema_editor.execute(function, params=None)


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for drop in DROPS:
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("credits", "0012_spend_and_hold_in_one_call")]

    operations = [migrations.RunPython(create_functions, drop_functions)]
