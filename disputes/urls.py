from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    path("", views.dispute_list, name="list"),
    path("new/<int:transaction_id>/", views.open_dispute, name="open"),
    path(
        "new/milestone/<int:milestone_id>/",
        views.open_milestone_dispute,
        name="open-milestone",
    ),
    path("<int:dispute_id>/", views.dispute_detail, name="detail"),
    path("<int:dispute_id>/messages/", views.post_message, name="message"),
    path("<int:dispute_id>/escalate/", views.escalate, name="escalate"),
]
