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


# --- Daily snapshots: pre-aggregated figures `manage.py analytics_rebuild` makes from the ledger.


class LiabilityDay(models.Model):
    """One figure of a UTC day's deferred revenue roll-forward in one currency, as the ledger
    made it: the liability at the day's start (`opening`) or a line's change over the day
    (`issued`, `recognised`, ...; analytics.money.LINES). Never written but by a rebuild, so it
    can always be thrown away and made again."""

    OPENING = "opening"

    day = models.DateField()
    currency = models.CharField(max_length=3)
    line = models.CharField(max_length=16)
    credits = models.BigIntegerField()
    money = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "day", "line"], name="analytics_liability_day_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.line}"


class SnapshotBuild(models.Model):
    """A rebuild's coverage: the snapshots hold the whole UTC days [since, until), made from the
    ledger's transactions up to `through_transaction`. A transaction written later but dated
    before `until` makes the build stale, and the pages go back to the live figures."""

    since = models.DateTimeField()
    until = models.DateTimeField()
    through_transaction = models.BigIntegerField()
    built_at = models.DateTimeField()

    class Meta:
        get_latest_by = "pk"

    def __str__(self) -> str:
        return f"{self.since:%Y-%m-%d} to {self.until:%Y-%m-%d}"
