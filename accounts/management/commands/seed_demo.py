from importlib import import_module, util

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import seed_users


class Command(BaseCommand):
    help = (
        "Create demo data for trying CreditDesk: a staff superuser and a staff checker (each "
        "with an authenticator-app secret, printed) and two users with verified e-mail "
        "addresses, then each app's demo data (its `demo.seed`). Safe to run again: what exists "
        "is left unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (the demo users have published passwords).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "refusing to create demo users with published passwords while DEBUG is off "
                "(pass --force if this really is a demo site)"
            )
        with transaction.atomic():
            seeded = seed_users()
            self.stdout.write("Demo users (sign in at /accounts/login/):")
            for entry in seeded:
                demo = entry.demo
                role = demo.role
                state = "created" if entry.created else "already there, left unchanged"
                self.stdout.write(
                    f"  {demo.email:<24} password {demo.password:<22} {role} ({state})"
                )
                if entry.totp_secret:
                    self.stdout.write(
                        f"    staff pages need two-factor: add this secret to an authenticator "
                        f"app\n    TOTP secret {entry.totp_secret}\n    or its URI (what a QR "
                        f"code holds) {entry.totp_url}"
                    )
            demos = _app_demos()
            for demo in demos:
                demo.seed(self.stdout)
            # Last, once every app has seeded: what the pages will show right after.
            for demo in demos:
                if hasattr(demo, "report"):
                    demo.report(self.stdout)


def _app_demos() -> list:
    """Each of our apps may offer demo data as `<app>.demo.seed(stdout)` (and a closing
    `report(stdout)`), run in app order except that a module's `SEED_AFTER` apps run first (the
    ledger's demo spends credits the shop's demo bought)."""
    modules = {}
    for app in settings.LOCAL_APPS:
        if app != "accounts" and util.find_spec(f"{app}.demo") is not None:  # users come first
            modules[app] = import_module(f"{app}.demo")
    ordered: list = []

    def place(app: str) -> None:
        if modules.get(app) is None or modules[app] in ordered:
            return
        for first in getattr(modules[app], "SEED_AFTER", ()):
            place(first)
        ordered.append(modules[app])

    for app in modules:
        place(app)
    return ordered
