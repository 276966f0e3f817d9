"""Where things are."""

from pathlib import Path

#: the repository root
REPO = Path(__file__).resolve().parents[2]
#: test vectors (dgc-testdata, schema tests and examples, CertLogic suites)
VECTORS = REPO / "tests" / "vectors"
