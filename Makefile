# Two commands do everything on a fresh Debian / Raspberry Pi OS machine:
#   make demo   set up and run the appliance on embedded defaults
#   make test   install what is missing and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Debian packages the tests use: SoftHSM2 and a software TPM for the key, Chromium for the
# UI, zbar for QR decoding, systemd-analyze for the units, dbus for tpm2-abrmd; poppler-utils
# (pdftoppm, pdftotext) for the letter tests and fonts-dejavu-core for the letters' fonts;
# nginx, the production front server, for tests/security/test_front_server.py.
# postgresql: the hub's production store; tests/hub start a private cluster from its binaries.
APT_PACKAGES := softhsm2 opensc swtpm swtpm-tools tpm2-tools tpm2-abrmd libtpm2-pkcs11-1 faketime \
	libtpm2-pkcs11-tools libtss2-tcti-tabrmd0 dbus chromium libzbar0 systemd postgresql \
	poppler-utils fonts-dejavu-core nginx tzdata

.PHONY: demo test apt venv bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,usb,serial]'
	touch $(STAMP)

venv: $(STAMP)

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; \
	  fi; \
	fi

test: apt venv
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

# The demo signs with a SoftHSM2 token when the package is there (installed here when run as root),
# and with the software key otherwise. Other ports: make demo DEMO_ARGS="--port 8081 --hub-port 8766"
DEMO_ARGS ?=
demo: venv
	@if ! command -v softhsm2-util >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends softhsm2 || true; \
	fi
	$(VENV)/bin/appliance demo $(DEMO_ARGS)

bench: venv
	$(VENV)/bin/appliance bench

clean:
	rm -rf $(VENV) var .pytest_cache
