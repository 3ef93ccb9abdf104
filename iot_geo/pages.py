"""The HTML iot-geo writes, from Jinja2 templates in ``iot_geo/resources`` with autoescaping.

Every value a template prints is HTML-escaped unless it is :class:`markupsafe.Markup` made by iot-geo
itself, so a user's text (bid, lead, partner, site and file names) can never become markup. Text that
a page's JavaScript needs goes in as JSON (the ``tojson`` filter, safe inside ``<script>``) and is
shown with ``textContent`` (see ``resources/map_text.js``), never through ``innerHTML`` or a template
literal.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["environment", "render", "resource_text"]


RESOURCES = Path(__file__).resolve().parent / "resources"


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment for iot-geo's templates: autoescaped, and an unknown name is an error."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(RESOURCES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: Any) -> Markup:
    """The template ``resources/NAME`` rendered with ``context`` (every value escaped unless Markup)."""
    return Markup(environment().get_template(name).render(**context))


def resource_text(name: str) -> str:
    """A resource file's text (a script or a style sheet iot-geo ships)."""
    return (RESOURCES / name).read_text(encoding="utf-8")


