"""Every change to a job. Pages, the API, the admin and the commands call these; none writes a
job, milestone, delivery, file or log row by itself.

drafts (create, edit by section, plan milestones, submit: the budget reserved), work (assign,
deliver, accept in full or in part, ask for changes, cancel, staff overrides, disputes' steps),
clock (the deadlines' default outcomes), files (folders and uploads), access (who may see and
work on a job), log (the activity log), notify (e-mails).
"""

from jobs.services.access import deliverers, may_deliver, may_see, party_to, require_can_see
from jobs.services.clock import ClockReport, delivery_deadline, run_clock
from jobs.services.drafts import (
    EDITABLE,
    MAX_MILESTONES,
    SECTIONS,
    MilestonePlan,
    add_link,
    create_draft,
    delete_draft,
    plan_milestones,
    submit,
    update_draft,
)
from jobs.services.files import (
    create_folder,
    delete_file,
    delete_folder,
    move_file,
    move_folder,
    rename_folder,
    upload,
)
from jobs.services.work import (
    accept,
    accept_in_part,
    assign,
    cancel_job,
    cancel_milestone,
    deliver,
    force_accept,
    force_release,
    mark_disputed,
    request_changes,
    settle_dispute,
    settle_unanswered_dispute,
)

__all__ = [
    "EDITABLE",
    "MAX_MILESTONES",
    "SECTIONS",
    "ClockReport",
    "MilestonePlan",
    "accept",
    "accept_in_part",
    "add_link",
    "assign",
    "cancel_job",
    "cancel_milestone",
    "create_draft",
    "create_folder",
    "delete_draft",
    "delete_file",
    "delete_folder",
    "deliver",
    "deliverers",
    "delivery_deadline",
    "force_accept",
    "force_release",
    "mark_disputed",
    "may_deliver",
    "may_see",
    "move_file",
    "move_folder",
    "party_to",
    "plan_milestones",
    "rename_folder",
    "request_changes",
    "require_can_see",
    "run_clock",
    "settle_dispute",
    "settle_unanswered_dispute",
    "submit",
    "update_draft",
    "upload",
]
