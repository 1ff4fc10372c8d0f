"""Reading rendered pages the way a person (or a screen reader) would."""

from bs4 import BeautifulSoup

UNLABELLED_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode(), "html.parser")


def text(response) -> str:
    """The page's visible text, whitespace collapsed."""
    return " ".join(page(response).get_text(" ").split())


def accessibility_problems(response) -> list[str]:
    """What keeps a page from our accessibility baseline: one h1, landmarks, title, labels."""
    soup = page(response)
    problems = []
    if len(soup.find_all("h1")) != 1:
        problems.append(f"{len(soup.find_all('h1'))} h1 elements, want 1")
    if not (soup.html and soup.html.get("lang")):
        problems.append("<html> has no lang")
    if not (soup.title and soup.title.get_text(strip=True)):
        problems.append("no <title>")
    for landmark in ("header", "main", "footer", "nav"):
        if soup.find(landmark) is None:
            problems.append(f"no <{landmark}>")
    labelled = {label.get("for") for label in soup.find_all("label")}
    for field in soup.find_all(["input", "select", "textarea"]):
        if field.get("type") in UNLABELLED_INPUT_TYPES or field.get("aria-label"):
            continue
        if not field.get("id") or field["id"] not in labelled:
            problems.append(f"field {field.get('name')!r} has no label bound to it")
    return problems


def drawn_form(client, url: str) -> str:
    """Open a staff form as a person does: the first visit issues its once-token and sends the
    browser to the form's address carrying it (core/once.py); that address is returned, to be
    drawn and sent like the page the browser keeps in its history."""
    response = client.get(url)
    assert response.status_code == 302, response.status_code
    assert "once=" in response["Location"], response["Location"]
    return response["Location"]
