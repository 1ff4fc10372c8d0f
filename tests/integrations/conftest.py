from tests.integrations.webhook_receiver import receiver  # noqa: F401  (a fixture)
