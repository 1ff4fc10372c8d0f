"""No tables: each model names one page of the admin's Analytics section (analytics/admin.py).
The credits flow's carries the permission every analytics page asks for
(`analytics.view_analytics`)."""

from django.db import models


class AnalyticsPageModel(models.Model):
    class Meta:
        abstract = True
        managed = False
        default_permissions = ()

    def __str__(self) -> str:
        return str(self._meta.verbose_name).capitalize()


class CreditsFlow(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        permissions = [("view_analytics", "Can view analytics and reports")]
        verbose_name = verbose_name_plural = "credits flow"


class Overview(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "overview"


class Revenue(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "revenue"


class DeferredRevenue(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "deferred revenue and breakage"


class Promotions(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "promotions"


class Subscriptions(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "subscriptions"


class Disputes(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "disputes"


class JobsAndApps(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "jobs and partner apps"


class Cohorts(AnalyticsPageModel):
    class Meta(AnalyticsPageModel.Meta):
        verbose_name = verbose_name_plural = "cohorts"
