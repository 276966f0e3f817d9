"""Getting the journal to the hub: agent (the sync loop) · batches (the signed CBOR wire format)."""
