"""docs/partners.md lists exactly the scopes integrations.scopes.SCOPES defines, in its words."""

from pathlib import Path

from integrations.scopes import SCOPES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "partners.md"


def scopes_table() -> str:
    """The table as it must read in the guide (between its scopes markers)."""
    rows = [f"| `{name}` | {words} |" for name, words in SCOPES.items()]
    return "\n".join(["| scope | the app will be able to … |", "| --- | --- |", *rows])


def test_the_partner_guide_lists_exactly_the_scopes_in_their_words():
    text = GUIDE.read_text()
    start = text.index("<!-- scopes:start -->\n") + len("<!-- scopes:start -->\n")
    end = text.index("\n<!-- scopes:end -->")

    assert text[start:end] == scopes_table(), f"Paste this table:\n{scopes_table()}"


def test_the_guide_is_listed_where_the_docs_are():
    root = GUIDE.parents[1]

    assert "docs/partners.md" in (root / "README.md").read_text()
    assert "docs/partners.md" in (root / "docs" / "architecture.md").read_text()
