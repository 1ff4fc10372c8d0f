"""Drafts: a client writes a job section by section (saved incomplete), plans its milestones,
then submits it, which reserves the whole budget in one database transaction."""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from credits import services as credits
from credits.errors import InsufficientCredits
from credits.services import Reference
from jobs.errors import JobError, NotAllowed, WrongStatus
from jobs.models import Job, Link, Milestone
from jobs.services.access import require_can_work_on
from jobs.services.actor import JOBS
from jobs.services.files import remove_bytes_after_commit
from jobs.services.log import Verb, record
from jobs.services.notify import tell_team

# The sections of a job and their fields, in the order the pages show them.
SECTIONS = {
    "basic": ("title", "summary", "category", "priority"),
    "business": ("company", "industry", "audience", "website"),
    "project": ("scope", "requirements", "deliverables"),
    "branding": ("colours", "fonts", "style_notes", "references"),
    "financial": ("budget",),
}
EDITABLE = tuple(name for fields in SECTIONS.values() for name in fields)
MAX_MILESTONES = 100
_http_url = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class MilestonePlan:
    title: str
    due_date: date
    amount: int
    description: str = ""


def create_draft(*, client, **fields) -> Job:
    """A new draft of the client's: only a title is needed to save it."""
    job = Job(client=client)
    _apply(job, {"priority": Job.Priority.NORMAL, **fields}, creating=True)
    with transaction.atomic():
        job.save()
        record(job, Verb.CREATED, actor=client)
    return job


def update_draft(*, job: Job, by, **fields) -> Job:
    """Change some of a draft's fields (any section); the rest stay as they are."""
    with transaction.atomic():
        job = _locked_draft(job, by)
        _apply(job, fields)
        job.updated_at = timezone.now()
        job.save()
        record(job, Verb.EDITED, actor=by, fields=sorted(fields))
    return job


def plan_milestones(*, job: Job, by, milestones: list[MilestonePlan]) -> list[Milestone]:
    """Replace a draft's milestones. Each needs a title, a due date from today on and a whole
    number of credits above zero, no more than the budget when one is set."""
    if len(milestones) > MAX_MILESTONES:
        raise JobError(f"A job has at most {MAX_MILESTONES} milestones.", field="milestones")
    with transaction.atomic():
        job = _locked_draft(job, by)
        checked = [_checked_plan(plan, job.budget, index) for index, plan in enumerate(milestones)]
        job.milestones.all().delete()
        rows = Milestone.objects.bulk_create(
            Milestone(job=job, position=index + 1, **vars(plan))
            for index, plan in enumerate(checked)
        )
        job.updated_at = timezone.now()
        job.save(update_fields=["updated_at"])
        record(job, Verb.EDITED, actor=by, fields=["milestones"])
    return rows


def add_link(*, job: Job, by, label: str, url: str, delivery=None) -> Link:
    """A resource link of the job (http or https only), by its client or its team, while the
    job is a draft or live: a closed job's record stays as it was closed."""
    require_can_work_on(job, by)
    label, url = checked_link(label, url)
    with transaction.atomic():
        # Under the job's lock, as every step on a job: a link never lands on a job closing now.
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status in Job.CLOSED:
            raise WrongStatus(
                f"Job #{job.pk} is {job.get_status_display().lower()}: no links can be added."
            )
        link = Link.objects.create(job=job, delivery=delivery, label=label, url=url, added_by=by)
        record(job, Verb.LINK_ADDED, actor=by, label=label, url=url)
    return link


def submit(*, job: Job, by) -> Job:
    """Submit a complete draft: each milestone's amount is reserved from the client's wallet
    with its own ledger hold, all of them or none (a short wallet gets the ledger's "not enough
    credits" with the whole budget's figures).

    Idempotent under its keys: each hold's key names its milestone, so a retry never reserves
    twice. The holds are placed by CreditDesk's jobs service, not by the client, so only the job
    flow settles them (credits.services.holds._require_placer), and they have no clock of their
    own: the milestone's deadlines settle them (docs/jobs.md).
    """
    with transaction.atomic():
        job = _locked_draft(job, by)
        milestones = list(job.milestones.order_by("position", "id"))
        _check_complete(job, milestones)
        wallet = job.client.wallet
        reserved = 0
        for milestone in milestones:
            try:
                placed = credits.hold(
                    wallet=wallet,
                    amount=milestone.amount,
                    actor=JOBS,
                    idempotency_key=f"job-milestone:{milestone.pk}:fund",
                    description=f"Job #{job.pk} · {milestone.title}"[:255],
                    reference=Reference(text=f"job #{job.pk}", obj=milestone),
                    until_settled=True,
                )
            except InsufficientCredits:
                wallet.refresh_from_db()  # this transaction's earlier holds roll back with it
                raise InsufficientCredits(
                    "Not enough credits to reserve this job's budget: "
                    f"{job.budget} asked, {wallet.available + reserved} available."
                ) from None
            reserved += milestone.amount
            milestone.hold = placed.hold
            milestone.status = Milestone.Status.FUNDED
        Milestone.objects.bulk_update(milestones, ["hold", "status"])
        now = timezone.now()
        job.status = Job.Status.OPEN
        job.submitted_at = job.updated_at = now
        job.save(update_fields=["status", "submitted_at", "updated_at"])
        record(job, Verb.SUBMITTED, actor=by, reserved=job.budget)
        tell_team(
            job,
            "a new job to deliver",
            f"{job.client} submitted a job of {job.budget} credits.",
            event="job.opened",
        )
    return job


def delete_draft(*, job: Job, by) -> None:
    """A draft reserves nothing: its client may throw it away, with its folders and files."""
    with transaction.atomic():
        job = _locked_draft(job, by)
        remove_bytes_after_commit(job.files.all())
        job.delete()


def _locked_draft(job: Job, by) -> Job:
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.client_id != by.pk:
        raise NotAllowed("Only the job's client can change its draft.")
    if not locked.is_draft:
        raise WrongStatus(
            f"Job #{locked.pk} is {locked.get_status_display().lower()}, not a draft."
        )
    return locked


def _apply(job: Job, fields: dict, *, creating: bool = False) -> None:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise JobError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(job, name, _checked_field(job, name, value))
    if (creating or "title" in fields) and not job.title:
        raise JobError("Give the job a title.", field="title")


def _checked_field(job: Job, name: str, value):
    field = Job._meta.get_field(name)
    if name == "budget":
        return _checked_amount(value, field="budget", what="The budget", allow_zero=True)
    if field.choices:
        if value not in dict(field.choices):
            raise JobError(f"Choose a {field.verbose_name} from the list.", field=name)
        return value
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise JobError(f"The {field.verbose_name} must be text.", field=name)
    value = value.strip()
    if field.max_length and len(value) > field.max_length:
        raise JobError(
            f"The {field.verbose_name} must be at most {field.max_length} characters.", field=name
        )
    if name == "website" and value:
        _check_url(value, field=name)
    return value


def is_whole_credits(value) -> bool:
    """A whole number of credits: an int, not a bool (an int to Python), 2.5 or "3"."""
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_amount(value, *, field: str, what: str, allow_zero: bool = False) -> int:
    if not is_whole_credits(value):
        raise JobError(f"{what} must be a whole number of credits.", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise JobError(f"{what} must be more than 0 credits.", field=field)
    if value > 2_000_000_000:
        raise JobError(f"{what} must be at most 2,000,000,000 credits.", field=field)
    return value


def _checked_plan(plan: MilestonePlan, budget: int, index: int) -> MilestonePlan:
    where = f"milestones.{index}"
    title = (plan.title or "").strip() if isinstance(plan.title, str) else ""
    if not title:
        raise JobError(f"Milestone {index + 1} needs a title.", field=f"{where}.title")
    if len(title) > 200:
        raise JobError(
            f"Milestone {index + 1}'s title must be at most 200 characters.",
            field=f"{where}.title",
        )
    amount = _checked_amount(
        plan.amount, field=f"{where}.amount", what=f"Milestone {index + 1}'s amount"
    )
    if budget and amount > budget:
        raise JobError(
            f"Milestone {index + 1}'s amount ({amount:,} credits) is more than the budget "
            f"({budget:,} credits).",
            field=f"{where}.amount",
        )
    if not isinstance(plan.due_date, date):
        raise JobError(f"Milestone {index + 1} needs a due date.", field=f"{where}.due_date")
    _check_due_date(plan.due_date, field=f"{where}.due_date", index=index)
    description = (plan.description or "").strip()
    return MilestonePlan(
        title=title, due_date=plan.due_date, amount=amount, description=description
    )


def _check_due_date(due: date, *, field: str, index: int) -> None:
    if due < timezone.now().date():
        raise JobError(
            f"Milestone {index + 1}'s due date ({due:%Y-%m-%d}) is in the past.", field=field
        )


def _check_complete(job: Job, milestones: list[Milestone]) -> None:
    """What a draft needs before it is submitted (each problem named at its field)."""
    if not milestones:
        raise JobError("Plan at least one milestone before submitting.", field="milestones")
    if not job.budget:
        raise JobError("Set the job's budget before submitting.", field="budget")
    total = sum(milestone.amount for milestone in milestones)
    if total != job.budget:
        raise JobError(
            f"The milestones add up to {total:,} credits but the budget is {job.budget:,}: "
            "change one so they match.",
            field="milestones",
        )
    for index, milestone in enumerate(milestones):
        _check_due_date(milestone.due_date, field=f"milestones.{index}.due_date", index=index)


def checked_link(label, url) -> tuple[str, str]:
    label = label.strip() if isinstance(label, str) else ""
    url = url.strip() if isinstance(url, str) else ""
    if not label:
        raise JobError("Give the link a label.", field="label")
    if len(label) > 200:
        raise JobError("The label must be at most 200 characters.", field="label")
    _check_url(url, field="url")
    return label, url


def _check_url(url: str, *, field: str) -> None:
    """http and https only: a `javascript:` or `data:` link would run in the reader's page."""
    if len(url) > 2000:
        raise JobError("The address must be at most 2,000 characters.", field=field)
    try:
        _http_url(url)
    except ValidationError:
        raise JobError(
            "Give a web address starting with http:// or https://.", field=field
        ) from None
