"""The issuance journal: append-only, hash-chained SQLite with forward-only migrations.

journal (open, append, commit) · queries (reading, search, the chain check) · sync_state (hub
cursor and status, signed heads, counter checkpoints) · records (row shapes) · chain (the hash
chain, shared with the hub) · sqlite (connections, pragmas, durable commits) · migrations/
(numbered SQL files).
"""
