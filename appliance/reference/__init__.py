"""Signed reference-data bundles (value sets, trust list, revocations, business rules):
the ``.dccbundle`` format (``bundle``), the four content types (``content``), building one
(``publish``), installing with an atomic switch and rollback (``store``), reading what is
installed (``installed``), the trust anchor (``anchor``) and fetching from the hub (``fetch``).

Layer: below the issuer and the sync agent (which use it), above journal/settings; it
imports only the engine (``dcc``), ``config``, ``util`` and ``errors``.
"""
