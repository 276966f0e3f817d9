"""Helpers for the tablet UI tests: the accounts the fixtures seed, a CSRF-aware test client, form values."""

from __future__ import annotations

import re

ADMIN = ("admin", "admin-password-1")
STAFF = ("staff", "staff-password-1")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


class Browser:
    """A Flask test client that reads CSRF tokens from the pages it gets, as a browser would."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        m = _CSRF.search(resp.get_data(as_text=True))
        if m:
            self.csrf = m.group(1)
        return resp

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/login")
            data.setdefault("csrf_token", self.csrf)
        resp = self.client.post(url, data=data, **kw)
        m = _CSRF.search(resp.get_data(as_text=True))
        if m:
            self.csrf = m.group(1)
        return resp

    def login(self, name, password):
        self.get("/login")
        resp = self.post("/login", {"username": name, "password": password})
        if resp.status_code == 302:
            self.get(resp.location)  # as a browser would: the new session has a new CSRF token
        return resp


def review_token(html: str) -> str:
    m = _TOKEN.search(html)
    assert m, "the review page carries an idempotency token"
    return m.group(1)


#: valid web-form values per type (as staff would enter them on 2026-11-28)
FORMS = {
    "v": {"family_name": "Müller", "given_name": "Jürgen", "date_of_birth": "1980-05-17",
          "product": "EU/1/20/1528", "dose": "2/2", "date": "2026-11-27", "country": "DE", "issuer": "Impfzentrum Test"},
    "t": {"family_name": "Schmidt", "given_name": "Anna", "date_of_birth": "1990-01-02",
          "test_type": "LP217198-3", "test_device": "1232", "sample_time": "2026-11-28T09:30",
          "result": "260415000", "centre": "DEMO-TC", "country": "DE", "issuer": "Impfzentrum Test"},
    "r": {"family_name": "Weiß", "given_name": "Peter", "date_of_birth": "1975",
          "first_positive": "2026-11-10", "valid_from": "2026-11-21", "valid_until": "2027-05-09",
          "country": "DE", "issuer": "Impfzentrum Test"},
}
