"""German texts for the English per-field messages of :class:`~appliance.errors.InvalidInput`.

The pipeline (:mod:`appliance.dcc.form`, :mod:`appliance.dcc.payload`, :mod:`appliance.dcc.schema`,
:mod:`appliance.dcc.names`, :mod:`appliance.dcc.uvci`, :mod:`appliance.dcc.valuesets`,
:mod:`appliance.issue`) writes its field messages in English. The tablet shows them
beside the field in the user's language: :func:`translate` matches each message
against a small ordered table of templates (a regex per English template, a German
template with the same named parts) and fills the German template in. Parts that
are themselves English (hints, "the vaccination", script names) are translated
through small tables; dates become ``TT.MM.JJJJ``; codes, numbers and field keys
stay as they are. Messages never carry personal data, and neither do these.

Messages joined with ``"; "`` (``validate_dcc`` puts several problems of one field
into one message) are translated piece by piece. A message no template knows is
returned unchanged (and logged, without its text), so a new English message shows
in English rather than not at all.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import date

log = logging.getLogger(__name__)

#: The hints that follow "; " or sit in parentheses in appliance.dcc.form's messages.
HINTS: dict[str, str] = {
    "give the product's EU number, e.g. EU/1/20/1528 (Comirnaty)":
        "bitte die EU-Zulassungsnummer angeben, z. B. EU/1/20/1528 (Comirnaty)",
    "use pcr, rapid, LP6464-4 or LP217198-3": "erlaubt sind pcr, rapid, LP6464-4 oder LP217198-3",
    "give the device id from the EU rapid test list, e.g. 1232":
        "bitte die Test-ID aus der EU-Liste der Antigen-Schnelltests angeben, z. B. 1232",
    "use negative (not_detected) or its code 260415000": "erlaubt sind negative (not_detected) oder der Code 260415000",
    "give a two-letter country code, e.g. DE": "bitte den zweistelligen Ländercode angeben, z. B. DE",
    "ISO 8601 with time zone, e.g. 2026-11-28T09:30:00+01:00": "ISO 8601 mit Zeitzone, z. B. 2026-11-28T09:30:00+01:00",
}

#: "is after the <event>; check the date of birth" -> dative (payload.py writes "the the vaccination")
EVENTS: dict[str, str] = {
    "vaccination": "der Impfung",
    "first positive test": "dem ersten positiven Test",
    "sample time": "der Probenahme",
}

#: First word of the Unicode character name (names.py) -> "in ... Schrift"
SCRIPTS: dict[str, str] = {
    "Latin": "lateinischer", "Cyrillic": "kyrillischer", "Greek": "griechischer", "Arabic": "arabischer",
    "Hebrew": "hebräischer", "Armenian": "armenischer", "Georgian": "georgischer", "Thai": "thailändischer",
    "Hangul": "koreanischer", "Hiragana": "japanischer", "Katakana": "japanischer",
    "Cjk": "chinesischer oder japanischer", "Bengali": "bengalischer", "Ethiopic": "äthiopischer",
}


def _hint(text: str) -> str:
    return HINTS.get(text, text)


def _day(text: str) -> str:
    """``2020-12-02`` -> ``02.12.2020``; anything else (e.g. a year) unchanged."""
    try:
        return date.fromisoformat(text).strftime("%d.%m.%Y")
    except ValueError:
        return text


def _script(text: str) -> str:
    return f"{SCRIPTS[text]} Schrift" if text in SCRIPTS else f"einer anderen Schrift ({text})"


#: named group -> how its (English) value becomes German; other groups are copied
CONVERT: dict[str, Callable[[str], str]] = {
    "hint": _hint,
    "date": _day,
    "event": lambda s: EVENTS.get(s, s),
    "script": _script,
    "groups": lambda s: s.replace(" and ", " und "),
    "fmt": lambda s: {"date": "gültiges Datum", "date-time": "gültiger Zeitpunkt"}.get(s, f"gültiger Wert ({s})"),
    "unit": lambda s: {"days": "Tage", "hours": "Stunden"}.get(s, s),
    "choices": lambda s: " oder ".join(s.rsplit(", ", 1)),
}

_N = r"(?P<n>-?\d+)"
_M = r"(?P<m>\d+)"
_HINT = r"(?P<hint>[^;]+)"
_DATE = r"(?P<date>\d{4}(?:-\d{2}-\d{2})?)"

#: (English template as a regex, German template); first match wins, so specific before general.
#: Open-ended parts never span "; ", which separates the messages validate_dcc joins.
TEMPLATES: list[tuple[str, str]] = [
    # appliance.dcc.form: text, dates, counts, codes
    (r"is required", "ist erforderlich"),
    (r"must be text", "muss Text sein"),
    (r"contains control or unassigned characters; type it again",
     "enthält Steuer- oder unzulässige Zeichen; bitte neu eingeben"),
    (rf"is longer than {_N} characters", "ist länger als {n} Zeichen"),
    (r"is required \(YYYY-MM-DD\)", "ist erforderlich (JJJJ-MM-TT)"),
    (r"must be a real date written YYYY-MM-DD, e\.g\. (?P<example>\S+)",
     "muss ein gültiges Datum sein (JJJJ-MM-TT), z. B. {example}"),
    (r"is required \(a whole number from 1\)", "ist erforderlich (ganze Zahl ab 1)"),
    (rf"must be a whole number from {_N} to {_M}", "muss eine ganze Zahl von {n} bis {m} sein"),
    (rf"is required; {_HINT}", "ist erforderlich; {hint}"),
    (rf"must be text; {_HINT}", "muss Text sein; {hint}"),
    (rf"is a deprecated code that may no longer be issued; {_HINT}",
     "ist ein veralteter Code und darf nicht mehr ausgestellt werden; {hint}"),
    (rf"is not allowed; {_HINT}", "ist nicht zulässig; {hint}"),
    (rf"is in no installed RAT device list \(test-manf of {_DATE}\); {_HINT}",
     "steht in keiner installierten Liste der Schnelltests (test-manf vom {date}); {hint}"),
    (r"must contain letters only \(no digits\); check the name",
     "darf nur Buchstaben enthalten (keine Ziffern); bitte den Namen prüfen"),
    (r"is required \(YYYY-MM-DD, or YYYY-MM or YYYY if not fully known\)",
     "ist erforderlich (JJJJ-MM-TT, oder JJJJ-MM bzw. JJJJ, wenn nicht genau bekannt)"),
    (r"must be a real date written YYYY-MM-DD, YYYY-MM or YYYY",
     "muss ein gültiges Datum sein (JJJJ-MM-TT, JJJJ-MM oder JJJJ)"),
    (rf"is required \({_HINT}\)", "ist erforderlich ({hint})"),
    (rf"must be a date and time, {_HINT}", "muss Datum und Uhrzeit sein, {hint}"),
    (rf"needs a time zone offset, {_HINT}", "braucht eine Zeitzone, {hint}"),
    (rf"is not a possible date and time, {_HINT}", "ist kein möglicher Zeitpunkt, {hint}"),
    # appliance.dcc.form: structure of the input JSON (section and key names stay as they are)
    (r"must be a JSON object with the person's fields and a '(?P<s>\w+)' section",
     "muss ein JSON-Objekt mit den Personenfeldern und einem Abschnitt '{s}' sein"),
    (r"has a '(?P<o>\w+)' section but the certificate type is (?P<s>\w+); put the event data under '\w+'",
     "enthält einen Abschnitt '{o}', die Zertifikatsart ist aber {s}; die Angaben gehören unter '{s}'"),
    (r"unknown field\(s\) (?P<f>[^;]*); allowed: (?P<a>[\w, ]*)", "unbekannte Felder: {f}; erlaubt: {a}"),
    (r"the '(?P<s>\w+)' section is missing", "der Abschnitt '{s}' fehlt"),
    (r"must be an object with the event fields", "muss ein Objekt mit den Feldern des Ereignisses sein"),
    (r"must be v \(vaccination\), t \(test\) or r \(recovery\)", "muss v (Impfung), t (Test) oder r (Genesung) sein"),
    # appliance.dcc.names
    (r"a name cannot contain digits; check the name", "ein Name darf keine Ziffern enthalten; bitte den Namen prüfen"),
    ((r"contains (?P<script>\S+) characters that cannot be transliterated automatically; "
      r"type the standardised name \(ICAO 9303: A-Z and <\)"),
     ("enthält Zeichen in {script}, die nicht automatisch umgeschrieben werden können; "
      "bitte den standardisierten Namen eingeben (ICAO 9303: A-Z und <)")),
    (r"contains no letters; check the name", "enthält keine Buchstaben; bitte den Namen prüfen"),
    (rf"the standardised name would be {_N} characters, more than {_M}; type a shortened standardised name",
     "der standardisierte Name hätte {n} Zeichen, erlaubt sind {m}; bitte gekürzt eingeben"),
    (r"may only contain the letters A-Z and < \(ICAO 9303\), e\.g\. (?P<example>\S+)",
     "darf nur die Buchstaben A-Z und < enthalten (ICAO 9303), z. B. {example}"),
    # appliance.dcc.uvci
    (r"character (?P<c>'[^']*'|\"[^\"]*\"|\S+) is not allowed in a UVCI \(A-Z, 0-9, / and :\)",
     "das Zeichen {c} ist in einer UVCI nicht erlaubt (A-Z, 0-9, / und :)"),
    (r"must be a two-letter ISO 3166 country code, e\.g\. (?P<example>\S+)",
     "muss ein zweistelliger Ländercode nach ISO 3166 sein, z. B. {example}"),
    (r"must be letters A-Z and digits only, e\.g\. (?P<example>\S+)",
     "darf nur Buchstaben A-Z und Ziffern enthalten, z. B. {example}"),
    (r"the opaque part must be letters A-Z and digits only",
     "der laufende Teil darf nur Buchstaben A-Z und Ziffern enthalten"),
    (rf"the UVCI would be {_N} characters, more than {_M}; shorten the UVCI issuer",
     "die UVCI hätte {n} Zeichen, erlaubt sind {m}; bitte den UVCI-Ausstellerteil kürzen"),
    (rf"sequence number must be an integer from {_N} to {_M}",
     "die laufende Nummer muss eine ganze Zahl von {n} bis {m} sein"),
    # appliance.dcc.valuesets
    (r"unknown vaccine product; give the EU product number, e\.g\. (?P<example>\S+)",
     "unbekannter Impfstoff; bitte die EU-Zulassungsnummer angeben, z. B. {example}"),
    # appliance.dcc.payload: plausibility
    (r"type must be v, t or r", "die Art muss v, t oder r sein"),
    (r"is in the future; check the year", "darf nicht in der Zukunft liegen; bitte das Jahr prüfen"),
    (r"is in the future; the (?:vaccination|first positive test) cannot be later than today",
     "darf nicht in der Zukunft liegen"),
    (r"is in the future; enter when the sample was taken",
     "darf nicht in der Zukunft liegen; bitte den Zeitpunkt der Probenahme eingeben"),
    (r"is before (?P<year>\d{4}); check the year", "darf nicht vor {year} liegen; bitte das Jahr prüfen"),
    (rf"is before {_DATE}; (?:the (?:vaccination|first positive test) cannot be that early, )?check the year",
     "darf nicht vor dem {date} liegen; bitte das Jahr prüfen"),
    (r"is after the (?:the )?(?P<event>vaccination|first positive test|sample time); check the date of birth",
     "liegt nach {event}; bitte das Geburtsdatum prüfen"),
    (r"(?P<dose>\d+/\d+) is not a valid dose numbering for this product; use one of (?P<allowed>[\d/, ]+)",
     "{dose} ist für diesen Impfstoff keine gültige Dosisangabe; möglich sind {allowed}"),
    (r"a positive test does not get a test certificate; issue a recovery certificate from day (?P<n>\d+) instead",
     ("für einen positiven Test gibt es kein Testzertifikat; "
      "stattdessen ab Tag {n} ein Genesenenzertifikat ausstellen")),
    (r"a rapid antigen test needs the test device from the EU list",
     "ein Antigen-Schnelltest braucht den Test aus der EU-Liste"),
    (r"only rapid antigen tests name a device; leave it empty for PCR/NAAT",
     "nur Antigen-Schnelltests haben einen Test aus der EU-Liste; bei PCR/NAAT leer lassen"),
    (rf"must be at least {_N} days after the first positive test \({_DATE} or later\)",
     "muss mindestens {n} Tage nach dem ersten positiven Test liegen (ab {date})"),
    (rf"must be at most {_N} days after the first positive test \({_DATE} or earlier\)",
     "darf höchstens {n} Tage nach dem ersten positiven Test liegen (bis {date})"),
    (r"must be after valid from", "muss nach „Gültig ab“ liegen"),
    (r"is in the past; the certificate would already be expired",
     "liegt in der Vergangenheit; das Zertifikat wäre schon abgelaufen"),
    (rf"the sample is older than {_N} hours; a test certificate would already be expired",
     "die Probe ist älter als {n} Stunden; ein Testzertifikat wäre schon abgelaufen"),
    # appliance.issue (revocation)
    (r"give a short reason \(1 to 200 characters, no personal data\)",
     "bitte einen kurzen Grund angeben (1 bis 200 Zeichen, keine Personendaten)"),
    (r"no certificate with this UVCI was issued on this device",
     "auf diesem Gerät wurde kein Zertifikat mit dieser UVCI ausgestellt"),
    (r"this certificate is already revoked", "dieses Zertifikat ist bereits widerrufen"),
    (r"keep the note to 200 characters", "die Notiz darf höchstens 200 Zeichen lang sein"),
    # appliance.dcc.form: the test centre is picked from [device] centres
    (r"pick one of this device's test centres: (?P<ids>.+)", "bitte eines der Testzentren dieses Geräts wählen: {ids}"),
    (r"this device has no test centres configured \(\[device\] centres\); leave it empty",
     "für dieses Gerät sind keine Testzentren eingerichtet ([device] centres); bitte leer lassen"),
    # appliance.settings (admin pages: accounts, centre profile, printer and GPIO overrides);
    # role and language codes as the admin's drop-downs show them, setting keys stay as they are
    (r"use 1-40 letters, digits, dot, dash or underscore, starting with a letter or digit",
     ("bitte 1 bis 40 Buchstaben, Ziffern, Punkte, Binde- oder Unterstriche verwenden, "
      "am Anfang ein Buchstabe oder eine Ziffer")),
    (r"must be staff or admin", "muss Personal oder Administrator sein"),
    (rf"must have at least {_N} characters", "muss mindestens {n} Zeichen lang sein"),
    (r"must be de or en", "muss de (Deutsch) oder en (Englisch) sein"),
    (r"an account with this name exists already; choose another name",
     "ein Konto mit diesem Namen gibt es schon; bitte einen anderen Namen wählen"),
    (r"no such account", "dieses Konto gibt es nicht"),
    (r"is not a centre setting", "ist keine Einstellung des Zentrums"),
    (r"is not a setting", "ist keine bekannte Einstellung"),
    (r"must be a whole number", "muss eine ganze Zahl sein"),
    (rf"must be a whole number \({_N} to {_M} (?P<unit>days|hours)\)",
     "muss eine ganze Zahl sein ({n} bis {m} {unit})"),
    (rf"must be {_N} to {_M} (?P<unit>days|hours)", "muss {n} bis {m} {unit} betragen"),
    (rf"must be at most {_N} characters", "darf höchstens {n} Zeichen lang sein"),
    (rf"must be {_N} to {_M} characters", "muss {n} bis {m} Zeichen lang sein"),
    (rf"must be capital letters and digits, at most {_N}",
     "darf nur Großbuchstaben und Ziffern enthalten, höchstens {n} Zeichen"),
    (r"must be two capital letters, e\.g\. (?P<example>\S+)",
     "muss aus zwei Großbuchstaben bestehen, z. B. {example}"),
    (r"must be a product code", "muss ein Impfstoff-Code sein"),
    (r"must be a test type code", "muss ein Code einer Testart sein"),
    (r"must be a test device code", "muss ein Code eines Antigentests sein"),
    (r"must be a time zone such as (?P<example>\S+)", "muss eine Zeitzone sein, z. B. {example}"),
    (r"must be one of (?P<choices>\w+(?:, \w+)+)", "muss {choices} sein"),
    # appliance.dcc.schema (via payload.validate_dcc); keys, patterns and value-set names stay as they are
    (r"(?P<keys>[\w, ]+) is a required property", "Pflichtangabe „{keys}“ fehlt"),
    (r"has (?P<groups>[vtr](?: and [vtr])+); a certificate holds exactly one of v, t or r",
     "enthält {groups}; ein Zertifikat enthält genau eines von v, t oder r"),
    (r"exactly one of v, t or r is required, together with ver, nam and dob",
     "genau eines von v, t oder r ist nötig, dazu ver, nam und dob"),
    (r"at least one of fnt or gnt is required", "fnt oder gnt ist nötig"),
    (r"does not match the required pattern (?P<p>[^;]+)", "entspricht nicht dem vorgeschriebenen Muster {p}"),
    (rf"is shorter than {_N} characters", "ist kürzer als {n} Zeichen"),
    (r"is not a valid date \(YYYY-MM-DD\)", "ist kein gültiges Datum (JJJJ-MM-TT)"),
    (r"is not a valid (?P<fmt>\S+) \((?P<x>[^)]*)\)", "ist kein {fmt} ({x})"),
    (r"must be of type (?P<t>[^;]+)", "muss vom Typ {t} sein"),
    (r"must be at least (?P<n>-?[\d.]+)", "muss mindestens {n} sein"),
    (r"must be at most (?P<n>-?[\d.]+)", "darf höchstens {n} sein"),
    (rf"must have at least {_N} item\(s\)", "muss mindestens {n} Einträge haben"),
    (rf"must have at most {_N} item\(s\)", "darf höchstens {n} Einträge haben"),
    (r"fails the schema rule (?P<r>[^;]+)", "verletzt die Schemaregel {r}"),
    (r"is not a code of the value set (?P<vs>[\w-]+)", "ist kein Code der Werteliste {vs}"),
]

_COMPILED: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.DOTALL), de) for p, de in TEMPLATES]


def _one(message: str) -> str | None:
    """The German text for one English message, or None if no template matches."""
    for pattern, german in _COMPILED:
        m = pattern.fullmatch(message)
        if m:
            parts = {k: CONVERT.get(k, str)(v) for k, v in m.groupdict().items() if v is not None}
            return german.format(**parts)
    return None


@functools.lru_cache(maxsize=1024)
def _german(message: str) -> str:
    whole = _one(message)
    if whole is not None:
        return whole
    # Several messages joined with "; " (each may contain "; " itself): the segmentation
    # with the most translated pieces; a piece no template knows stays as it is.
    pieces = message.split("; ")
    best: list[tuple[int, list[str]]] = [(0, [])]  # best[i]: (translated count, texts) for pieces[:i]
    for i in range(1, len(pieces) + 1):
        options = []
        for j in range(i):
            chunk = "; ".join(pieces[j:i])
            german = _one(chunk)
            if german is not None or i - j == 1:
                score, texts = best[j]
                options.append((score + (german is not None), texts + [german if german is not None else chunk]))
        best.append(max(options, key=lambda o: (o[0], -len(o[1]))))
    score, texts = best[-1]
    if score < len(texts):
        log.warning("a field message has no German text yet (%d of %d parts translated)", score, len(texts))
    return "; ".join(texts)


def translate(message: str, lang: str) -> str:
    """``message`` (an English field message) in ``lang``: German for ``"de"``, else unchanged."""
    if lang != "de" or not isinstance(message, str) or not message:
        return message
    return _german(message)


def translate_all(field_errors: dict[str, str], lang: str) -> dict[str, str]:
    """Every message of an ``InvalidInput.field_errors`` mapping in ``lang``."""
    return {path: translate(str(message), lang) for path, message in field_errors.items()}
