from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.generic import TemplateView

app_name = "billing"

urlpatterns = [
    path(
        "",
        # The shop is public: visitors may compare packs before they sign up.
        login_not_required(
            TemplateView.as_view(
                template_name="placeholder.html",
                extra_context={
                    "heading": "Buy credits",
                    "summary": "Credit packs and subscription plans, with their price per "
                    "credit, will be listed here.",
                },
            )
        ),
        name="shop",
    ),
]
