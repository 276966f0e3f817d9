"""The certificate engine: pure steps from a typed form to a signed, encoded, verified DCC.

form → names, doses → payload (valuesets, schema, uvci) → sign (cose) → encode (base45) → qr;
verify is the exact reverse; dsc reads device certificates; model is the one vocabulary.
No I/O beyond reading the packaged data, no clock: time and the signer come in as arguments.
"""
