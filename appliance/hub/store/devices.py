"""The store's device queries: registration, the status listing (keyset pages, filters),
flags (fork, rollback) and the operator's decisions about them (journaled in ``hub_events``).

A mixin of :class:`appliance.hub.store.base.HubStore`: it uses ``self.transaction()`` and
``self.reading()``, one SQL text for both engines.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from appliance.dcc import dsc
from appliance.errors import HubError
from appliance.hub.store.derive import iso, version_key
from appliance.journal import chain

log = logging.getLogger(__name__)

#: the columns of a device row that the API and the status page read (no DSC PEM, no key bytes)
SUMMARY_COLUMNS = ("device_id", "kid", "country", "registered_at", "last_seen", "acknowledged_seq",
                   "last_hash", "fork_flag", "fork_detail", "flag_kind", "centre", "region", "dsc_not_after",
                   "entry_count", "software_version", "refdata_version", "head_seq", "head_hash", "head_time",
                   "chain_error", "wrong_clock_certificates")


class DeviceQueries:
    def register_device(self, device_id: str, certificate: x509.Certificate, *, now: datetime,
                        replace: bool = False, centre: str | None = None, region: str | None = None) -> str:
        """Register (or re-key) a device; returns "registered", "unchanged" or "rotated"."""
        kid = dsc.kid_b64(certificate)
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        countries = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        country = str(countries[0].value) if countries else ""
        not_after = iso(certificate.not_valid_after_utc)
        with self.transaction() as tx:
            row = tx.one(f"SELECT kid, centre, region FROM devices WHERE device_id = ?{self.FOR_UPDATE}",
                         (device_id,))
            if row is None:
                tx.execute("INSERT INTO devices (device_id, dsc_pem, kid, country, registered_at, last_seen,"
                           " acknowledged_seq, last_hash, fork_flag, fork_detail, centre, region, dsc_not_after,"
                           " entry_count) VALUES (?, ?, ?, ?, ?, NULL, 0, ?, 0, NULL, ?, ?, ?, 0)",
                           (device_id, pem, kid, country, iso(now), chain.GENESIS, centre, region, not_after))
                return "registered"
            moved = False
            for column, value in (("centre", centre), ("region", region)):
                if value is not None:
                    tx.execute(f"UPDATE devices SET {column} = ? WHERE device_id = ?", (value, device_id))
                    moved = moved or value != row[column]
            if moved:
                self.rebuild_centre_counts(tx)      # the chart's summary follows the device (appliance.hub.store.stats)
            if row["kid"] == kid:
                return "unchanged"
            if not replace:
                raise HubError(f"device {device_id} is registered with another DSC (kid {row['kid']}); "
                               "to rotate its key, repeat with --yes")
            tx.execute("UPDATE devices SET dsc_pem = ?, kid = ?, country = ?, dsc_not_after = ? WHERE device_id = ?",
                       (pem, kid, country, not_after, device_id))
            return "rotated"

    def device(self, device_id: str) -> dict | None:
        with self.reading() as tx:
            return tx.one("SELECT * FROM devices WHERE device_id = ?", (device_id,))

    def devices(self, *, after: str | None = None, limit: int | None = None, region: str | None = None,
                centre: str | None = None, software_below: str | None = None) -> list[dict]:
        """Device summaries ordered by id, from after ``after`` (a keyset page), optionally filtered;
        ``software_below``: only devices on an older software version, or that never reported one."""
        sql = f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM devices WHERE 1 = 1"
        params: list = []
        for column, value in (("region", region), ("centre", centre)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if software_below is not None:
            sql += " AND (software_key < ? OR software_key IS NULL)"
            params.append(version_key(software_below))
        if after is not None:
            sql += " AND device_id > ?"
            params.append(after)
        sql += " ORDER BY device_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.reading() as tx:
            return tx.all(sql, params)

    def facets(self) -> dict[str, list[str]]:
        """The regions and centres there are, for the status page's filters."""
        with self.reading() as tx:
            regions = [r["v"] for r in tx.all("SELECT DISTINCT region AS v FROM devices WHERE region IS NOT NULL"
                                              " ORDER BY 1")]
            centres = [r["v"] for r in tx.all("SELECT DISTINCT centre AS v FROM devices WHERE centre IS NOT NULL"
                                              " ORDER BY 1")]
        return {"regions": regions, "centres": centres}

    def certificate(self, device: dict) -> x509.Certificate:
        return dsc.load_certificate(device["dsc_pem"].encode())

    def touch(self, device_id: str, now: datetime, *, software: str | None = None,
              refdata: str | None = None) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE devices SET last_seen = ?, software_version = COALESCE(?, software_version),"
                       " refdata_version = COALESCE(?, refdata_version), software_key = COALESCE(?, software_key)"
                       " WHERE device_id = ?", (iso(now), software, refdata, version_key(software), device_id))

    def flag(self, device_id: str, kind: str, detail: str, now: datetime) -> None:
        """Flag a device (``fork`` or ``rollback``): chain_ok turns false, no entries are taken until cleared."""
        with self.transaction() as tx:
            tx.execute("UPDATE devices SET fork_flag = 1, flag_kind = ?, fork_detail = ?, last_seen = ?"
                       " WHERE device_id = ?", (kind, detail, iso(now), device_id))
            tx.execute("INSERT INTO hub_events (device_id, time, kind, operator, reason, detail)"
                       " VALUES (?, ?, ?, 'hub', 'detected at intake', ?)", (device_id, iso(now), f"flag:{kind}", detail))

    def fork_flag(self, device_id: str, detail: str, now: datetime) -> None:
        self.flag(device_id, "fork", detail, now)

    flag_fork = fork_flag

    def clear_flag(self, device_id: str, *, reason: str, operator: str, now: datetime) -> dict:
        """The operator's decision to take a flagged device's entries again; journaled. Returns the old flag."""
        with self.transaction() as tx:
            row = tx.one(f"SELECT fork_flag, flag_kind, fork_detail FROM devices WHERE device_id = ?{self.FOR_UPDATE}",
                         (device_id,))
            if row is None:
                raise HubError(f"device {device_id!r} is not registered at this hub")
            if not row["fork_flag"]:
                raise HubError(f"device {device_id!r} is not flagged; nothing to clear")
            tx.execute("UPDATE devices SET fork_flag = 0, flag_kind = NULL, fork_detail = NULL, head_seq = NULL,"
                       " head_hash = NULL, head_time = NULL WHERE device_id = ?", (device_id,))
            tx.execute("INSERT INTO hub_events (device_id, time, kind, operator, reason, detail)"
                       " VALUES (?, ?, 'clear-flag', ?, ?, ?)",
                       (device_id, iso(now), operator, reason, f"{row['flag_kind']}: {row['fork_detail']}"))
        log.warning("device %s: flag %s cleared by %s (%s)", device_id, row["flag_kind"], operator, reason)
        return row

    def events(self, device_id: str) -> list[dict]:
        with self.reading() as tx:
            return tx.all("SELECT time, kind, operator, reason, detail FROM hub_events WHERE device_id = ?"
                          " ORDER BY id", (device_id,))

    def heads(self, device_id: str) -> list[dict]:
        with self.reading() as tx:
            return tx.all("SELECT seq, hash, time, kid, sig, received_at FROM heads WHERE device_id = ?"
                          " ORDER BY seq", (device_id,))
