from django.db import models


class CreditsFlow(models.Model):
    """No table: names the credits flow page in the admin's Analytics section and carries the
    permission every analytics page asks for (`analytics.view_analytics`)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_analytics", "Can view analytics and reports")]
        verbose_name = verbose_name_plural = "credits flow"

    def __str__(self) -> str:
        return "Credits flow"
