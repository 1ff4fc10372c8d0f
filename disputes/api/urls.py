"""The disputes API's addresses: the caller's own (user_urlpatterns) and staff's queue, under
admin/ (staff_urlpatterns); config/urls.py includes this module under /api/v1/."""

from django.urls import include, path

from disputes.api import views

user_urlpatterns = [
    path("disputes", views.DisputeListView.as_view(), name="disputes"),
    path("disputes/<int:dispute_id>", views.DisputeDetailView.as_view(), name="dispute"),
    path(
        "disputes/<int:dispute_id>/messages",
        views.DisputeMessageView.as_view(),
        name="dispute-messages",
    ),
    path(
        "disputes/<int:dispute_id>/escalate",
        views.DisputeEscalateView.as_view(),
        name="dispute-escalate",
    ),
    # Under the job it is about (the jobs API's own addresses are the jobs app's; jobs never
    # imports disputes, so this one lives here).
    path(
        "jobs/<int:job_id>/milestones/<int:milestone_id>/dispute",
        views.MilestoneDisputeView.as_view(),
        name="job-milestone-dispute",
    ),
]

staff_urlpatterns = [
    path("disputes", views.StaffDisputeListView.as_view(), name="admin-disputes"),
    path(
        "disputes/<int:dispute_id>/assign",
        views.StaffAssignView.as_view(),
        name="admin-dispute-assign",
    ),
    path(
        "disputes/<int:dispute_id>/resolve",
        views.StaffResolveView.as_view(),
        name="admin-dispute-resolve",
    ),
    path(
        "disputes/<int:dispute_id>/reject",
        views.StaffRejectView.as_view(),
        name="admin-dispute-reject",
    ),
]

urlpatterns = [*user_urlpatterns, path("admin/", include(staff_urlpatterns))]
