"""Who the ledger sees move a job's credits: CreditDesk's jobs service itself.

The job's holds are its own, not the client's (a client could otherwise release a milestone's
reservation through the credits API) nor a staff member's; the job's activity log says which
person took each step.
"""

from credits.actors import Actor

JOBS = Actor.system("jobs")
