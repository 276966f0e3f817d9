"""The dose assistant: which ``dn``/``sd`` pairs a vaccination certificate may carry, and what they mean.

Rules (EU encoding in force since 1 February 2022, Commission press release
IP/21/6837 of 21 December 2021, adopted by the German issuing systems,
Digitaler-Impfnachweis/certification-apis issue #214; earlier rules in that
repository's ``Implementation.md``):

* basic series with a 2-dose vaccine: 1/2, then 2/2 (also when the first dose was
  another vaccine: "cross vaccination");
* single-dose vaccine (Jcovden/Janssen, Sputnik Light, Convidecia): 1/1;
* one dose of a 2-dose vaccine given to a recovered person: 1/1;
* booster after a 2-dose basic series: 3/3, further boosters 4/4, 5/5 ...;
* booster after a single-dose vaccine, or after recovery plus one dose: 2/1,
  further doses 3/1, 4/1 ...

A booster may use any product, so every product offers every booster numbering.
We list doses up to :data:`MAX_DOSE`; the form refuses any pair not listed here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Products whose basic series is one dose (value-set codes).
SINGLE_DOSE_PRODUCTS = frozenset({"EU/1/20/1525", "Sputnik-Light", "Convidecia"})
MAX_DOSE = 6


@dataclass(frozen=True)
class DoseOption:
    dn: int
    sd: int
    meaning_en: str
    meaning_de: str

    @property
    def label(self) -> str:
        return f"{self.dn}/{self.sd}"


def _ordinal_de(n: int) -> str:
    return f"{n}."


def _ordinal_en(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _boosters() -> list[DoseOption]:
    out = [DoseOption(2, 1, "Booster after a single-dose vaccine, or after recovery plus one dose",
                      "Auffrischimpfung nach Einzeldosis-Impfstoff oder nach Genesung plus einer Impfung")]
    for n in range(3, MAX_DOSE + 1):
        k = n - 2
        out.append(DoseOption(n, n, f"{_ordinal_en(k)} booster after a 2-dose basic series",
                              f"{_ordinal_de(k)} Auffrischimpfung nach Grundimmunisierung mit 2 Dosen"))
        out.append(DoseOption(n, 1, f"{_ordinal_en(n)} dose after a single-dose vaccine or after recovery "
                                    f"(further booster)",
                              f"{_ordinal_de(n)} Impfung nach Einzeldosis-Impfstoff oder nach Genesung "
                              f"(weitere Auffrischimpfung)"))
    return out


def options(mp: str) -> list[DoseOption]:
    """The allowed dose numberings for product ``mp``, most common first."""
    if mp in SINGLE_DOSE_PRODUCTS:
        basic = [DoseOption(1, 1, "Single-dose vaccine: basic series complete",
                            "Einzeldosis-Impfstoff: Grundimmunisierung abgeschlossen")]
    else:
        basic = [
            DoseOption(1, 2, "First dose of the basic series", "Erste Impfung der Grundimmunisierung"),
            DoseOption(2, 2, "Second dose: basic series complete (also after a different first vaccine)",
                       "Zweite Impfung: Grundimmunisierung abgeschlossen (auch Kreuzimpfung)"),
            DoseOption(1, 1, "One dose after recovery: basic series complete",
                       "Eine Impfung nach Genesung: Grundimmunisierung abgeschlossen"),
        ]
    return basic + _boosters()


def find(mp: str, dn: int, sd: int) -> DoseOption | None:
    """The option for ``dn``/``sd`` with product ``mp``, or None if that numbering is not allowed."""
    return next((o for o in options(mp) if (o.dn, o.sd) == (dn, sd)), None)


def is_usual(mp: str, dn: int, sd: int) -> bool:
    """Whether ``dn``/``sd`` is the product's own schedule: its basic series and the boosters after it.

    2-dose products: 1/2, 2/2, then 3/3, 4/4 ...; single-dose products: 1/1, then 2/1, 3/1 ...
    The other allowed numberings (1/1 after recovery, a 2-dose product as the booster after a
    single-dose series, or the other way round) are correct but rarer, so the review asks
    staff to check them (:mod:`appliance.dcc.plausibility`).
    """
    if find(mp, dn, sd) is None:
        return False
    if mp in SINGLE_DOSE_PRODUCTS:
        return sd == 1
    return (dn, sd) in ((1, 2), (2, 2)) or (dn >= 3 and dn == sd)
