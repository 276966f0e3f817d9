"""Which DCC key on the token signs: rotation generations and the active-key record.

Keys are read-only (CKA_MODIFIABLE=false), so rotation never renames one. The keys of
``[signer] key_label`` (``L``) form a family of generations: ``L`` is 1, ``L-gen2``, ``L-gen3`` ...
the later ones (``L-prev``/``L-next`` of older software count as 0 and 2). The **active** key is the
one ``<state>/signing-key.json`` names (label and CKA_ID, written by ``import-dsc`` before the DSC);
without that record it is ``L``. See :mod:`appliance.keys.provision` for the rotation steps.
"""

from __future__ import annotations

import json
from pathlib import Path

from appliance.devices.pkcs11_token import Token
from appliance.errors import SignerUnavailable
from appliance.util.atomic import write_atomic

GENERATION_SUFFIX = "-gen"   #: ``<key_label>-gen<N>``: the key of rotation generation N >= 2 (``key_label`` is 1)
PENDING_SUFFIX = "-next"     #: a pending key of older software (generation 2), still recognised
PREVIOUS_SUFFIX = "-prev"    #: a replaced key of older software (generation 0), still recognised
ACTIVE_KEY_FILE = "signing-key.json"  #: ``{"label", "id"}``: the key the DSC vouches for (absent: ``key_label``)


def generation(key_label: str, label: str) -> int | None:
    """The rotation generation of key ``label`` in ``key_label``'s family, None if not one of it."""
    if label == key_label:
        return 1
    legacy = {key_label + PREVIOUS_SUFFIX: 0, key_label + PENDING_SUFFIX: 2}
    if label in legacy:
        return legacy[label]
    number = label[len(key_label + GENERATION_SUFFIX):] if label.startswith(key_label + GENERATION_SUFFIX) else ""
    return int(number) if number.isdigit() and not number.startswith("0") and int(number) >= 2 else None


def generation_label(key_label: str, number: int) -> str:
    return key_label if number == 1 else f"{key_label}{GENERATION_SUFFIX}{number}"


def key_family(token: Token, key_label: str) -> list[tuple[int, str]]:
    """``(generation, label)`` of every DCC key of ``key_label`` on the token, oldest first."""
    found = ((generation(key_label, label), label) for label in token.labels())
    return sorted((n, label) for n, label in found if n is not None)


def read_active_record(state_dir: Path) -> dict | None:
    """``<state>/signing-key.json`` (the active key's label and CKA_ID), or None when absent."""
    path = Path(state_dir) / ACTIVE_KEY_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SignerUnavailable(f"cannot read {path} ({getattr(exc, 'strerror', None) or type(exc).__name__}): "
                                "import the installed DSC again ('appliance provision import-dsc FILE --yes') "
                                "to rewrite it") from None
    if not isinstance(record, dict) or not isinstance(record.get("label"), str) or not isinstance(record.get("id"), str):
        raise SignerUnavailable(f"{path} is not a signing-key record: import the installed DSC again "
                                "('appliance provision import-dsc FILE --yes') to rewrite it")
    return record


def write_active_record(state_dir: Path, label: str, key_id: bytes) -> None:
    """Name the active key (written atomically, before the DSC that vouches for it)."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    data = json.dumps({"label": label, "id": key_id.hex()}, sort_keys=True).encode() + b"\n"
    write_atomic(Path(state_dir) / ACTIVE_KEY_FILE, data, mode=0o600)


def active_label(token: Token, key_label: str, state_dir: Path | None) -> str:
    """The label of the key that signs: the one ``signing-key.json`` names, else ``key_label``.

    :raises SignerUnavailable: the record names a key of another family, or a key whose CKA_ID
        is not the recorded one (someone replaced it on the token)."""
    record = read_active_record(state_dir) if state_dir is not None else None
    if record is None:
        return key_label
    label = record["label"]
    if generation(key_label, label) is None:
        raise SignerUnavailable(f"{Path(state_dir) / ACTIVE_KEY_FILE} names key {label!r}, which is not one of "
                                f"[signer] key_label {key_label!r}'s keys: fix key_label, or import the DSC of "
                                "this device's key again")
    got = token.key_id(label)
    if got is not None and got.hex() != record["id"]:
        raise SignerUnavailable(f"key {label!r} on token {token.label!r} is not the key recorded in "
                                f"{ACTIVE_KEY_FILE} (another CKA_ID): it was replaced; call the technician")
    return label
