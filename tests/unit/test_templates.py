"""Templates write the dashboard's URLs through url(): never from `base` by hand, and only with
names the route registry has."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.web import registry

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def sources() -> dict[str, str]:
    return {str(p.relative_to(TEMPLATES)): p.read_text() for p in TEMPLATES.rglob("*.html")}


def test_no_template_builds_a_url_from_base_by_hand() -> None:
    by_hand = {
        name: found
        for name, text in sources().items()
        if (found := re.findall(r"\{\{\s*base\s*\}\}/|\bbase\s*~", text))
    }
    assert by_hand == {}


def test_every_url_names_a_route() -> None:
    names = {getattr(route, "name", None) for route in registry.base_routes()}
    used = {name for text in sources().values() for name in re.findall(r"url\('(\w+)'", text)}
    assert used and used <= names, used - names
