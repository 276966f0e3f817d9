"""Message catalogues and message ids.

Texts for people live in gettext ``.po`` catalogues, one per language and domain:

* ``appliance/translations/<lang>/LC_MESSAGES/pipeline.po``: the messages the engine and the
  services raise for staff (:class:`~appliance.errors.InvalidInput` field messages and the
  like), msgids such as ``input.required``;
* ``appliance/web/translations/<lang>/LC_MESSAGES/messages.po``: the tablet's texts (msgid = the
  template key), served through Flask-Babel by :mod:`appliance.web.i18n`.

The ``.po`` files are the only form in the repository: a catalogue is compiled in memory on
first use (:mod:`babel.messages.pofile` -> :mod:`babel.messages.mofile` -> a
:class:`babel.support.Translations`) and kept for the life of the process, so there is no
``.mo`` to build, commit or forget to rebuild (a few milliseconds per catalogue, once).

Code raises a :class:`Msg`: a message id with parameters. It *is* a ``str`` (its English text,
from the ``en`` catalogue), so the CLI, logs and ``str(exc)`` read English as before; a screen
shows :func:`render` of it in the reader's language. Parameters are values (numbers, codes,
field keys), dates (written the language's way) or other :class:`Msg` (rendered in the same
language). Messages never carry personal data.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger(__name__)

PIPELINE_DIR = Path(__file__).parent / "translations"
PIPELINE = "pipeline"
SOURCE = "en"
#: the message shown in place of a text that has no message id (never English on a German page)
UNKNOWN = "input.invalid"
DATE_FORMATS = {"de": "%d.%m.%Y"}

#: (directory, domain, lang) -> translations held in memory (tests install a pseudo-locale here)
_installed: dict[tuple[str, str, str], object] = {}


def _compile(catalog) -> object:
    from babel.messages import mofile  # lazy: babel is loaded when a catalogue is first used
    from babel.support import Translations  # lazy: as above

    buf = io.BytesIO()
    mofile.write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=catalog.domain)


def read_catalog(directory: Path | str, domain: str, lang: str):
    """The :class:`babel.messages.catalog.Catalog` of ``<directory>/<lang>/LC_MESSAGES/<domain>.po``."""
    from babel.messages import pofile  # lazy: as above

    path = Path(directory) / lang / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as fh:
        return pofile.read_po(fh, domain=domain)


def texts(directory: Path | str, domain: str, lang: str) -> dict[str, str]:
    """msgid -> msgstr of one catalogue (the header and untranslated entries left out)."""
    return {m.id: m.string for m in read_catalog(directory, domain, lang) if m.id and m.string}


@functools.lru_cache(maxsize=None)
def _compiled(directory: str, domain: str, lang: str):
    return _compile(read_catalog(directory, domain, lang))


def translations(directory: Path | str, domain: str, lang: str):
    """The compiled catalogue for ``lang`` (None if there is none)."""
    key = (str(directory), domain, lang)
    if key in _installed:
        return _installed[key]
    try:
        return _compiled(*key)
    except FileNotFoundError:
        return None


def install(directory: Path | str, domain: str, lang: str, entries: Mapping[str, str]) -> None:
    """Hold a catalogue for ``lang`` in memory (the tests' pseudo-locale); replaces an earlier one."""
    from babel.messages.catalog import Catalog  # lazy: as above

    catalog = Catalog(domain=domain)
    for msgid, text in entries.items():
        catalog.add(msgid, text)
    _installed[(str(directory), domain, lang)] = _compile(catalog)


def uninstall(directory: Path | str, domain: str, lang: str) -> None:
    _installed.pop((str(directory), domain, lang), None)


def lookup(directory: Path | str, domain: str, msgid: str, lang: str) -> str | None:
    """The text of ``msgid`` in ``lang`` (None if that catalogue lacks it)."""
    t = translations(directory, domain, lang)
    if t is None:
        return None
    text = t.ugettext(msgid)
    return None if text == msgid else text


def _value(value: object, lang: str) -> str:
    if isinstance(value, Msg):
        return render(value, lang)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime(DATE_FORMATS[lang]) if lang in DATE_FORMATS else value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v, lang) for v in value)
    return str(value)


def render_id(msgid: str, params: Mapping[str, object], lang: str) -> str:
    """The pipeline message ``msgid`` with ``params`` in ``lang`` (English if ``lang`` lacks it)."""
    text = lookup(PIPELINE_DIR, PIPELINE, msgid, lang)
    if text is None:
        log.warning("pipeline message %r has no %s text", msgid, lang)
        text = lookup(PIPELINE_DIR, PIPELINE, msgid, SOURCE) if lang != SOURCE else None
        if text is None:
            return msgid
    if not params:
        return text
    return text % {k: _value(v, lang) for k, v in params.items()}


class Msg(str):
    """A message id with parameters; as a ``str`` it is its English text.

    ``Msg("input.too_long", n=80)`` reads "is longer than 80 characters"; :func:`render` gives
    it in another language. Equal (and hashed) as its English text, so code and tests that
    compare messages as strings keep working.
    """

    id: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> "Msg":
        self = super().__new__(cls, render_id(msgid, params, SOURCE))
        self.id = msgid
        self.params = params
        return self

    def __reduce__(self):
        return (_rebuild, (self.id, self.params))

    def __repr__(self) -> str:
        return f"Msg({self.id!r}, {self.params!r})"


def _rebuild(msgid: str, params: dict) -> Msg:
    return Msg(msgid, **params)


def join(first: str, second: str) -> str:
    """Two messages for one field, in one text ("first; second"), each rendered in the reader's language."""
    return Msg("list.two", first=first, second=second)


def render(message: object, lang: str, fallback: str = UNKNOWN) -> str:
    """``message`` in ``lang``: a :class:`Msg` through the catalogue; a plain text (no id) as
    itself in English, and as the message ``fallback`` (default: the generic "invalid entry")
    in any other language."""
    if isinstance(message, Msg):
        return render_id(message.id, message.params, lang)
    if lang == SOURCE or not message:
        return str(message)
    log.warning("a message without an id was shown in %s (replaced by %r)", lang, fallback)
    return render_id(fallback, {}, lang)


def render_all(field_errors: Mapping[str, object], lang: str) -> dict[str, str]:
    """Every message of an ``InvalidInput.field_errors`` mapping in ``lang``."""
    return {path: render(message, lang) for path, message in field_errors.items()}


def pipeline_ids() -> list[str]:
    """Every message id of the pipeline catalogue (the ``en`` one is the source)."""
    return sorted(texts(PIPELINE_DIR, PIPELINE, SOURCE))
