"""A throwaway database for benchmark commands: they must never write into real data."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import override_settings

from credits.services import forget_system_wallet_ids


@contextmanager
def scratch_database(suffix: str) -> Iterator[str]:
    """Create and migrate `<configured name>_<suffix>` beside the configured database, switch
    to it, and drop it afterwards (even on Ctrl-C), as Django's test runner does.

    Runs with DEBUG off: as production does, and so Django does not log every query.
    """
    old_name = connection.settings_dict["NAME"]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    old_test_name = test_settings.get("NAME")
    test_settings["NAME"] = f"{old_name}_{suffix}"
    try:
        with override_settings(DEBUG=False):
            forget_system_wallet_ids()  # cached ids belong to the real database
            connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
            yield connection.settings_dict["NAME"]
    finally:
        if connection.settings_dict["NAME"] != old_name:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        test_settings["NAME"] = old_test_name
        # Forget the scratch database's ids; never write the real one (it may not even be
        # migrated): the next use looks its own ids up.
        forget_system_wallet_ids()
