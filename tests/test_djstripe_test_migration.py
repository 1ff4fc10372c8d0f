"""The test databases build dj-stripe's tables from one migration (tests/migrations/djstripe):
it must end in the same models as dj-stripe's own migrations, which production runs."""

from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from tests.conftest import TEST_MIGRATION_MODULES


def djstripe_models(migration_modules: dict) -> dict:
    """dj-stripe's models as its migrations leave them (read from the files, no database)."""
    with override_settings(MIGRATION_MODULES=migration_modules):
        state = MigrationLoader(None, ignore_no_migrations=True).project_state()
    models = {key: model for key, model in state.models.items() if key[0] == "djstripe"}
    for model in models.values():
        # Price's Meta says abstract = False, which dj-stripe's migrations leave unsaid.
        model.options.setdefault("abstract", False)
    return models


def test_the_test_databases_djstripe_migration_ends_where_djstripes_own_do():
    real = djstripe_models({})
    tests = djstripe_models(TEST_MIGRATION_MODULES)

    assert sorted(tests) == sorted(real)
    assert [key for key in real if tests[key] != real[key]] == []
