from django.urls import path
from django.views.generic import TemplateView

app_name = "disputes"

urlpatterns = [
    path(
        "",
        TemplateView.as_view(
            template_name="placeholder.html",
            extra_context={
                "heading": "Disputes",
                "summary": "The disputes you open on a charge will be listed here.",
            },
        ),
        name="list",
    ),
]
