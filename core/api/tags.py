"""The tags that group the API's operations, in the order a partner developer reads them: their
own wallet first, staff last. Imports nothing: the settings read TAGS.
"""


class Tag:
    """Every operation has one of these tags (tests/test_schema_tags.py checks it)."""

    WALLET = "Wallet"
    TRANSACTIONS = "Transactions"
    HOLDS = "Holds"
    TRANSFERS = "Transfers"
    JOBS = "Jobs"
    DISPUTES = "Disputes"
    ACCOUNT = "Account"
    APP = "Partner app"
    STAFF = "Staff"


# In this order in the schema and in the documentation pages (Swagger UI and ReDoc follow it).
TAGS = [
    {"name": Tag.WALLET, "description": "The caller's wallet, its credit blocks, statements."},
    {"name": Tag.TRANSACTIONS, "description": "The wallet's history, and spends."},
    {"name": Tag.HOLDS, "description": "Reserve credits, then capture or release them."},
    {"name": Tag.TRANSFERS, "description": "Paid credits to another user."},
    {
        "name": Tag.JOBS,
        "description": "Work the caller commissions and pays for in credits, milestone by "
        "milestone: drafts, milestones, deliveries, files.",
    },
    {"name": Tag.DISPUTES, "description": "Disputes on the caller's own transactions."},
    {"name": Tag.ACCOUNT, "description": "Who the credentials belong to; where the docs are."},
    {
        "name": Tag.APP,
        "description": "A partner app's own figures, with its API key (under /app/): the users "
        "who consented, its usage, its holds and its charges.",
    },
    {
        "name": Tag.STAFF,
        "description": "Staff powers under /admin/: a two-factor staff session and the "
        "admin's permissions for the same act.",
    },
]
