"""Bulk issuance and letters by post: a centre's vaccination list in, certificates and letters out.

``read`` (CSV/XLSX, encoding and delimiter) -> ``columns`` (German/English headers, ``--map``)
-> ``rows`` (cells -> the form's input, dates, products, the row identity) -> ``validate``
(every problem at once, duplicates in the file and against the journal) -> ``runner``
(grouped, exactly-once, resumable signing through the Issuer; letters rendered in worker
processes) -> ``reports`` (errors.csv, manifest.csv, formula-escaped); ``store`` keeps a
batch's working files (0600, the only place addresses live) and its status; ``revoke`` is
bulk revocation. Pure steps take time and devices as arguments.
"""
