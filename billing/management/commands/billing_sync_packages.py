from django.core.management.base import BaseCommand, CommandError

from billing.errors import BillingError
from billing.models import CreditPackage
from billing.services import catalogue
from core.text import counted


class Command(BaseCommand):
    help = (
        "Create or update the Stripe Product and Price of every active package (a changed price "
        "gets a new Price; the old one is archived)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Inactive packages too.")

    def handle(self, *args, **options):
        packages = CreditPackage.objects.all()
        if not options["all"]:
            packages = packages.filter(is_active=True)
        failures = 0
        for package in packages:
            try:
                done = catalogue.sync_package(package)
            except BillingError as error:
                failures += 1
                self.stderr.write(f"{package.name}: {error.message}")
            else:
                self.stdout.write(f"{package.name}: {done}.")
        if failures:
            raise CommandError(f"{counted(failures, 'package')} could not be synced.")
