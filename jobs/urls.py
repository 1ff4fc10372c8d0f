from django.urls import include, path
from django.views.generic import TemplateView

app_name = "jobs"

placeholder = TemplateView.as_view(
    template_name="placeholder.html",
    extra_context={
        "heading": "Jobs",
        "summary": "The jobs you commission and pay for in credits will be listed here.",
    },
)

urlpatterns = [
    path("", placeholder, name="list"),
    path("<int:pk>/", placeholder, name="detail"),
    path("", include("jobs.file_urls")),
]
