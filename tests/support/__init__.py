"""Helpers shared by the test folders, imported as ``from tests.support.X import ...``
(pytest puts the repository root on ``sys.path``: ``pythonpath = ["."]`` in pyproject.toml).

Modules:

- ``paths``: ``REPO`` and ``VECTORS`` (tests/vectors).
- ``clock``: ``NOW``, the fixed instant of the tests, and ``REAL_NOW`` for tests on the real clock.
- ``cli``: the one runner of ``python -m appliance`` (``run_appliance``, ``start_appliance``) and its
  environment (``appliance_env``, ``clean_env``, ``write_config``).
- ``waiting``: ``wait_until`` (poll a condition with a deadline), ``free_port``.
- ``dcc``: a sample DCC payload and ``sign_to_hc1`` (sign a payload, encode it as HC1).
- ``pki``: throwaway CAs, TLS server certificates, lab DSCs, CSRs, raw ES256 signature checks.
- ``journal``: synthetic chained journal entries and bulk-append specs.
- ``hub_kit``: the hub and sync helpers: ``DEVICE``, ``raw_signed_batch``, ``HubProcess``, ``ChaosProxy``.
- ``hub_fixtures``: pytest plugin (registered in tests/conftest.py) with the hub and device fixtures
  that tests/hub and tests/sync share.
- ``web``: the tablet UI's test browser (CSRF-aware client), accounts and valid form values.
- ``browser``: Chromium through Playwright for the browser tests.
- ``printing``: the schema examples' DCCs the receipts print, and ``submit`` (queue one on a PrintService).
- ``fake_printer``: a network receipt printer on 127.0.0.1; ``escpos_parse``: the ESC/POS walker it uses.
- ``toolcheck``: ``require`` (fail as root or in CI, skip elsewhere) for tests needing Debian packages.
- ``vectors``: the dgc-testdata conformance vectors and their checks.
- ``issue_loop``: not imported; a helper process the SIGKILL test runs by path.
"""
