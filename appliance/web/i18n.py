"""German and English texts of the tablet UI: gettext catalogues served through Flask-Babel.

The texts live in ``translations/<lang>/LC_MESSAGES/messages.po`` (msgid = the key the
templates pass to ``_('key', **params)``, msgstr = the text, ``%(name)s`` parameters). The
``.po`` files are compiled in memory on first use (:func:`appliance.messages.translations`),
so there is no ``.mo`` build step and no binary in the repository; :class:`CatalogueDomain` is
the Flask-Babel domain that serves them (``flask_babel.gettext`` and ``_`` read the same).

German is the default. A user's language comes from ``?lang=de|en`` (remembered in the
session and in the account), else the account's setting, else German. Messages
raised by the pipeline (:class:`~appliance.messages.Msg`) are rendered by
:func:`appliance.messages.render` from their own catalogue.
"""

from __future__ import annotations

import logging
from pathlib import Path

import flask_babel
from babel.support import NullTranslations
from flask import current_app, g, has_app_context

from appliance import messages

log = logging.getLogger(__name__)

DEFAULT = "de"
LANGUAGES = ("de", "en")
DIRECTORY = Path(__file__).parent / "translations"
DOMAIN_NAME = "messages"


class CatalogueDomain(flask_babel.Domain):
    """Flask-Babel's domain over ``DIRECTORY``, compiling the ``.po`` files in memory (no ``.mo``)."""

    def __init__(self) -> None:
        super().__init__(translation_directories=[str(DIRECTORY)], domain=DOMAIN_NAME)

    def for_lang(self, lang: str):
        return messages.translations(DIRECTORY, DOMAIN_NAME, lang) or NullTranslations()

    def get_translations(self):
        return self.for_lang(_current_lang())


DOMAIN = CatalogueDomain()


def _current_lang() -> str:
    return getattr(g, "lang", DEFAULT) if has_app_context() else DEFAULT


def init_app(app) -> None:
    """Flask-Babel on ``app``: the locale is the request's language, the texts come from :data:`DOMAIN`."""
    babel = flask_babel.Babel(app, default_locale=DEFAULT, locale_selector=_current_lang, configure_jinja=False)
    babel.domain_instance = DOMAIN            # flask_babel.gettext and friends read this domain
    app.extensions["babel"].domain_instance = DOMAIN


def lookup(key: str, lang: str) -> str | None:
    """The catalogue's text for ``key`` in ``lang`` (None if the catalogue has none)."""
    return messages.lookup(DIRECTORY, DOMAIN_NAME, key, lang)


def translate(key: str, lang: str, **params: object) -> str:
    """The text for ``key`` in ``lang``; an unknown key shows as itself (and is logged)."""
    text = lookup(key, lang)
    if text is None:
        log.warning("missing UI text %r", key)
        return key
    return text % params if params else text


def languages() -> tuple[str, ...]:
    """The languages a user may pick (tests add a pseudo-locale through ``APPLIANCE_LANGUAGES``)."""
    return tuple(current_app.config.get("APPLIANCE_LANGUAGES", LANGUAGES)) if has_app_context() else LANGUAGES


def pick(lang: object) -> str | None:
    return lang if lang in languages() else None
