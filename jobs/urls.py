from django.urls import path
from django.views.generic import TemplateView

app_name = "jobs"

urlpatterns = [
    path(
        "",
        TemplateView.as_view(
            template_name="placeholder.html",
            extra_context={
                "heading": "Jobs",
                "summary": "The jobs you commission and pay for in credits will be listed here.",
            },
        ),
        name="list",
    ),
]
