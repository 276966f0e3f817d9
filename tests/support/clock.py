"""The instants the tests use."""

from datetime import datetime, timezone

#: The fixed "now" of the tests (the ``now`` fixture): dates in inputs, vectors and expectations
#: are written relative to it (an example vaccination on 2026-11-20, web forms of 2026-11-28, ...).
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)

#: The real time at import, for what is checked against the system clock: DSCs on real tokens,
#: lab CAs and certificates used by ``python -m appliance`` subprocesses.
REAL_NOW = datetime.now(timezone.utc)
