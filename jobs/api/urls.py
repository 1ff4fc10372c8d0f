"""The jobs API's addresses: the client's own (user_urlpatterns) and staff's, under admin/
(staff_urlpatterns); config/urls.py includes this module under /api/v1/. The files endpoints
are jobs.api.files's."""

from django.urls import include, path

from jobs.api import staff, views

MILESTONE = "jobs/<int:job_id>/milestones/<int:milestone_id>"

user_urlpatterns = [
    path("jobs", views.JobListView.as_view(), name="jobs"),
    path("jobs/statistics", views.StatisticsView.as_view(), name="job-statistics"),
    path("jobs/<int:job_id>", views.JobDetailView.as_view(), name="job"),
    path("jobs/<int:job_id>/milestones", views.MilestonePlanView.as_view(), name="job-milestones"),
    path("jobs/<int:job_id>/links", views.JobLinkView.as_view(), name="job-links"),
    path("jobs/<int:job_id>/submit", views.SubmitView.as_view(), name="job-submit"),
    path("jobs/<int:job_id>/cancel", views.CancelJobView.as_view(), name="job-cancel"),
    path("jobs/<int:job_id>/activity", views.ActivityView.as_view(), name="job-activity"),
    path(f"{MILESTONE}/accept", views.AcceptView.as_view(), name="milestone-accept"),
    path(f"{MILESTONE}/accept-part", views.AcceptPartView.as_view(), name="milestone-accept-part"),
    path(
        f"{MILESTONE}/request-changes",
        views.RequestChangesView.as_view(),
        name="milestone-request-changes",
    ),
    path(f"{MILESTONE}/cancel", views.CancelMilestoneView.as_view(), name="milestone-cancel"),
    path(f"{MILESTONE}/deliveries", views.DeliveryListView.as_view(), name="milestone-deliveries"),
]

staff_urlpatterns = [
    path("jobs", staff.StaffQueueView.as_view(), name="admin-jobs"),
    path("jobs/statistics", staff.StaffStatisticsView.as_view(), name="admin-job-statistics"),
    path("jobs/<int:job_id>", staff.StaffJobView.as_view(), name="admin-job"),
    path("jobs/<int:job_id>/assign", staff.StaffAssignView.as_view(), name="admin-job-assign"),
    path(f"{MILESTONE}/deliver", staff.StaffDeliverView.as_view(), name="admin-milestone-deliver"),
]

urlpatterns = [*user_urlpatterns, path("admin/", include(staff_urlpatterns))]
