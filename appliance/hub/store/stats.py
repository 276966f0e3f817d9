"""The store's statistics queries, read from ``daily_counts`` (kept at intake, in the batch's
transaction: one row per day, device, centre, type, product and dose), never from the entries.

- :meth:`StatsQueries.daily_counts`: the statistics API's rows, in keyset pages ordered by their
  key ``(day, device_id, centre, type, product, dose)``; :func:`row_key` is a row's cursor;
- :meth:`StatsQueries.chart_counts`: the chart's cells from ``centre_counts``, a second summary
  kept at intake per day, region, centre and type (:meth:`StatsQueries.add_centre_counts`): a few
  hundred rows for a region's quarter, where a GROUP BY over ``daily_counts`` reads 3 rows per
  device and day (30,000 for 1,000 devices and 10 days; see the README's hub figures).

A mixin of :class:`appliance.hub.store.base.HubStore`, one SQL text for both engines.
"""

from __future__ import annotations

#: the centre a count belongs to: the entry's own, else the device's, else the device id
CENTRE_SQL = "COALESCE(NULLIF(c.centre, ''), d.centre, c.device_id)"
#: the same per row of ``daily_counts`` alone: a join would hash the whole table and sort it for
#: every page, the lookup keeps the primary key's order, so a page reads its own rows only
ROW_CENTRE_SQL = ("COALESCE(NULLIF(c.centre, ''), (SELECT d.centre FROM devices d WHERE d.device_id = c.device_id),"
                  " c.device_id)")
KEY = ("day", "device_id", "centre", "type", "product", "dose")


def row_key(row: dict) -> tuple:
    """The keyset cursor of a :meth:`StatsQueries.daily_counts` row (product '' and dose -1 for none)."""
    return (row["day"], row["device_id"], row["centre"], row["type"], row["product"] or "",
            -1 if row["dose"] is None else row["dose"])


def _where(since: str | None, until: str | None, centre: str | None, region: str | None) -> tuple[str, list]:
    sql, params = "", []
    for clause, value in (("c.day >= ?", since), ("c.day <= ?", until), (f"{ROW_CENTRE_SQL} = ?", centre),
                          ("c.device_id IN (SELECT device_id FROM devices WHERE region = ?)", region)):
        if value is not None:
            sql += f" AND {clause}"
            params.append(value)
    return sql, params


REBUILD_CENTRE_COUNTS = (
    "INSERT INTO centre_counts (day, region, centre, type, count)"
    f" SELECT c.day, COALESCE(d.region, ''), {CENTRE_SQL}, c.type, SUM(c.count)"
    " FROM daily_counts c JOIN devices d ON d.device_id = c.device_id"
    f" GROUP BY c.day, COALESCE(d.region, ''), {CENTRE_SQL}, c.type")


class StatsQueries:
    def add_centre_counts(self, tx, device_id: str, counts: dict[tuple, int]) -> None:
        """Inside the batch's transaction: add a batch's ``daily_counts`` increments (keyed as
        :func:`appliance.hub.store.derive.count_key`) to the chart's summary."""
        if not counts:
            return
        device = tx.one("SELECT centre, region FROM devices WHERE device_id = ?", (device_id,))
        cells: dict[tuple, int] = {}
        for (day, _device, centre, kind, _product, _dose), n in counts.items():
            key = (day, device["region"] or "", centre or device["centre"] or device_id, kind)
            cells[key] = cells.get(key, 0) + n
        tx.many("INSERT INTO centre_counts (day, region, centre, type, count) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (day, region, centre, type) DO UPDATE SET count = centre_counts.count + excluded.count",
                [k + (n,) for k, n in sorted(cells.items())])

    def rebuild_centre_counts(self, tx) -> None:
        """After a device moved to another centre or region: the chart's summary anew from daily_counts."""
        tx.execute("DELETE FROM centre_counts")
        tx.execute(REBUILD_CENTRE_COUNTS)


    def daily_counts(self, since: str | None = None, until: str | None = None, *, centre: str | None = None,
                     region: str | None = None, after: tuple | None = None, limit: int | None = None) -> list[dict]:
        """Issued certificates per day, device, centre, type, product and dose, ordered by that key;
        ``after``: the :func:`row_key` of the previous page's last row."""
        where, params = _where(since, until, centre, region)
        if after is not None:
            where += " AND c.day >= ?"               # the page starts on the cursor's day: an index range
            params.append(after[0])
        sql = ("SELECT day, device_id, centre, type, NULLIF(product, '') AS product, NULLIF(dose, -1) AS dose, count"
               f" FROM (SELECT c.day AS day, c.device_id AS device_id, {ROW_CENTRE_SQL} AS centre, c.type AS type,"
               " c.product AS product, c.dose AS dose, SUM(c.count) AS count"
               f" FROM daily_counts c WHERE 1 = 1{where}"
               f" GROUP BY c.day, c.device_id, {ROW_CENTRE_SQL}, c.type, c.product, c.dose) g")
        if after is not None:
            sql += " WHERE (day, device_id, centre, type, product, dose) > (?, ?, ?, ?, ?, ?)"
            params += list(after)
        sql += " ORDER BY day, device_id, centre, type, product, dose"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.reading() as tx:
            return [dict(r, count=int(r["count"])) for r in tx.all(sql, params)]

    def chart_counts(self, since: str | None = None, until: str | None = None, *, centre: str | None = None,
                     region: str | None = None) -> list[dict]:
        """Issued certificates per day, centre and type (the chart's cells), from the summary."""
        sql, params = "SELECT day, centre, type, SUM(count) AS count FROM centre_counts WHERE 1 = 1", []
        for clause, value in (("day >= ?", since), ("day <= ?", until), ("centre = ?", centre),
                              ("region = ?", region)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        sql += " GROUP BY day, centre, type ORDER BY 1, 2, 3"
        with self.reading() as tx:
            return [dict(r, count=int(r["count"])) for r in tx.all(sql, params)]
