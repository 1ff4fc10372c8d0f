from django.urls import include, path

from jobs.views import drafts, staff, statistics, work

app_name = "jobs"

urlpatterns = [
    path("", drafts.job_list, name="list"),
    path("new/", drafts.create, name="create"),
    path("statistics/", statistics.statistics_page, name="statistics"),
    path("queue/", staff.queue, name="queue"),
    path("<int:job_id>/", work.detail, name="detail"),
    path("<int:job_id>/edit/<slug:section>/", drafts.edit, name="edit"),
    path("<int:job_id>/submit/", drafts.submit, name="submit"),
    path("<int:job_id>/delete/", drafts.delete, name="delete"),
    path("<int:job_id>/cancel/", work.cancel_job, name="cancel"),
    path("<int:job_id>/links/", work.add_link, name="add_link"),
    path("<int:job_id>/assign/", staff.assign, name="assign"),
    path("milestones/<int:milestone_id>/accept/", work.accept, name="accept"),
    path(
        "milestones/<int:milestone_id>/accept-in-part/",
        work.accept_in_part,
        name="accept_in_part",
    ),
    path(
        "milestones/<int:milestone_id>/request-changes/",
        work.request_changes,
        name="request_changes",
    ),
    path("milestones/<int:milestone_id>/cancel/", work.cancel_milestone, name="cancel_milestone"),
    path("milestones/<int:milestone_id>/deliver/", staff.deliver, name="deliver"),
    path("", include("jobs.file_urls")),
]
