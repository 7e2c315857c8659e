"""Absolute links for emails, calendar feeds and payment redirects, built from the
configured public address only.

A link built from the request's Host header points wherever the request said:
anyone could ask for a password reset with `Host: evil.example` and receive the
member's token when they click. Every absolute link goes through here instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    address = urlsplit(current_app.config["PUBLIC_URL"])
    current_app.inject_url_defaults(endpoint, values)
    adapter = current_app.url_map.bind(
        address.netloc, script_name=address.path or "/", url_scheme=address.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
