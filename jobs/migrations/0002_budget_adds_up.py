"""The database checks what jobs.services checks: a submitted job's milestones add up to its
budget. On PostgreSQL, a constraint trigger deferred to commit (a draft's milestones are
replaced in several statements; what counts is the state a transaction leaves). SQLite has no
deferred triggers: there the service's check stands alone (docs/jobs.md)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION jobs_budget_adds_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_job bigint;
    job_budget integer;
    job_status varchar;
    total bigint;
BEGIN
    IF TG_TABLE_NAME = 'jobs_job' THEN
        checked_job := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        checked_job := OLD.job_id;
    ELSE
        checked_job := NEW.job_id;
    END IF;
    SELECT budget, status INTO job_budget, job_status FROM jobs_job WHERE id = checked_job;
    IF NOT FOUND OR job_status = 'draft' THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO total FROM jobs_milestone WHERE job_id = checked_job;
    IF total <> job_budget THEN
        RAISE EXCEPTION 'job % milestones add up to % credits, its budget is %',
            checked_job, total, job_budget
            USING ERRCODE = 'check_violation', CONSTRAINT = 'jobs_budget_adds_up';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER jobs_job_budget_adds_up
    AFTER INSERT OR UPDATE OF budget, status ON jobs_job
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jobs_budget_adds_up();
CREATE CONSTRAINT TRIGGER jobs_milestone_budget_adds_up
    AFTER INSERT OR UPDATE OF amount, job_id OR DELETE ON jobs_milestone
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jobs_budget_adds_up();
"""

DROP = """
DROP TRIGGER IF EXISTS jobs_milestone_budget_adds_up ON jobs_milestone;
DROP TRIGGER IF EXISTS jobs_job_budget_adds_up ON jobs_job;
DROP FUNCTION IF EXISTS jobs_budget_adds_up();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no parameters: RAISE keeps its % placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [migrations.RunPython(on_postgresql(CREATE), on_postgresql(DROP))]
