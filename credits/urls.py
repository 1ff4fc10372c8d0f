from django.urls import path
from django.views.generic import TemplateView

app_name = "credits"

urlpatterns = [
    path(
        "",
        TemplateView.as_view(
            template_name="placeholder.html",
            extra_context={
                "heading": "Dashboard",
                "summary": "Your balance, the credits that expire soon and your recent "
                "transactions will appear here.",
            },
        ),
        name="dashboard",
    ),
]
