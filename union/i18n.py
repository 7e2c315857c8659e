"""Translation helpers. Every user-facing string goes through one of these."""

from flask_babel import gettext, lazy_gettext, ngettext

_ = gettext
_l = lazy_gettext

__all__ = ["_", "_l", "gettext", "lazy_gettext", "ngettext"]
