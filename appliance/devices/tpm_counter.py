"""A TPM 2.0 NV monotonic counter through tpm2-tools (``tpm2_nvdefine``/``nvincrement``/``nvread``).

The journal binds its signed head to this counter (:mod:`appliance.journal.integrity`), so an
older copy of the SD card is found even without the hub. The counter lives in the TPM and
only ever goes up; the index is ``[journal] tpm_counter`` (owner hierarchy, empty auth).
``tcti`` is passed as ``TPM2TOOLS_TCTI`` (empty: tpm2-tools' default, ``/dev/tpmrm0``).
Each call is one short tpm2-tools process (about 10 ms on swtpm), which is why the journal
binds the head every N entries and at every sync rather than at every commit.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from appliance.errors import SignerUnavailable

log = logging.getLogger(__name__)

ATTRIBUTES = "ownerread|ownerwrite|authread|authwrite|nt=counter"
TOOLS_PACKAGE = "tpm2-tools"


class TpmCounter:
    """One NV counter index on the TPM."""

    def __init__(self, index: str, *, tcti: str = "", env: dict[str, str] | None = None):
        self.index = index
        self._env = {**(os.environ if env is None else env), **({"TPM2TOOLS_TCTI": tcti} if tcti else {})}

    def _run(self, *args: str, what: str) -> bytes:
        tool = args[0]
        if shutil.which(tool) is None:
            raise SignerUnavailable(f"{tool} is missing: install {TOOLS_PACKAGE} (apt-get install {TOOLS_PACKAGE}) "
                                    "or empty [journal] tpm_counter")
        try:
            proc = subprocess.run(list(args), env=self._env, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise SignerUnavailable(f"the TPM did not answer while {what} (counter {self.index}); "
                                    "check the TPM and its resource manager") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SignerUnavailable(f"the TPM refused {what} (counter {self.index}: {tail[0]}); check "
                                    "[journal] tpm_counter and tpm_tcti, or run 'appliance provision keygen' "
                                    "to define the counter")
        return proc.stdout

    def exists(self) -> bool:
        out = self._run("tpm2_getcap", "handles-nv-index", what="listing the NV indexes")
        return int(self.index, 16) in {int(word.strip("- \t"), 16) for word in out.decode().split()
                                        if word.strip("- \t").startswith("0x")}

    def define(self) -> bool:
        """Define the counter index if missing, and increment it once (a new counter has no value). True when made."""
        if self.exists():
            return False
        self._run("tpm2_nvdefine", self.index, "-C", "o", "-s", "8", "-a", ATTRIBUTES, what="defining the counter")
        self.increment()
        log.info("defined the TPM NV counter %s", self.index)
        return True

    def read(self) -> int:
        out = self._run("tpm2_nvread", self.index, "-C", "o", "-s", "8", what="reading the counter")
        if len(out) != 8:
            raise SignerUnavailable(f"the TPM counter {self.index} returned {len(out)} bytes, expected 8; "
                                    "is the index a counter?")
        return int.from_bytes(out, "big")

    def increment(self) -> None:
        self._run("tpm2_nvincrement", self.index, "-C", "o", what="incrementing the counter")
