"""Receipts: receipt (ESC/POS bytes and PNG preview) · queue (persistent, prints once) · service."""
