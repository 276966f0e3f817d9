"""Small shared helpers with no knowledge of certificates: atomic writes, time formats, wake-ups."""
