"""The issuance journal: append-only, hash-chained SQLite with forward-only migrations.

journal (the entries and their queries) · chain (the hash chain, shared with the hub) ·
sqlite (connections, pragmas, durable commits) · migrations/ (numbered SQL files).
"""
