#!/bin/bash
# Install the certificate appliance on Raspberry Pi OS Bookworm (arm64). Run once, as root:
#
#   sudo provisioning/install.sh [--tpm] [--hub] [--dry-run] [--root DIR] [--source DIR]
#
#   --tpm        enable the SPI TPM overlay (dtoverlay=tpm-slb9670) in the boot config
#   --hub        also install and enable appliance-hub.service (central office machine); nginx
#                then fronts the hub (provisioning/nginx/hub.conf) instead of the tablet UI
#   --dry-run    print what would change, change nothing
#   --root DIR   install the files under DIR instead of / (tests, image building); skips
#                apt, users, pip and systemctl, which act on the running system
#   --source DIR the appliance source tree (default: the folder above this script)
#
# Every step checks first and only acts when something differs, so a second run changes
# nothing. The last line says how many changes were made (or would be made).
set -euo pipefail

DRY=0 ROOT="" TPM=0 HUB=0
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --tpm) TPM=1 ;;
        --hub) HUB=1 ;;
        --root) ROOT="${2:?--root needs a directory}"; shift ;;
        --source) SRC="${2:?--source needs a directory}"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$ROOT" ] && ROOT="$(cd "$ROOT" && pwd)"
if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo), or use --dry-run / --root DIR" >&2; exit 2
fi
for f in pyproject.toml systemd/appliance-web.service provisioning/appliance.toml.example; do
    [ -f "$SRC/$f" ] || { echo "install.sh: $SRC is not the appliance source tree (no $f); use --source" >&2; exit 2; }
done

APT_PACKAGES="python3 python3-venv python3-dev libusb-1.0-0 tpm2-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools opensc nginx openssl"
GROUPS_WANTED="gpio lp dialout tss"
UNITS="appliance-web.service appliance-sync.service appliance-purge.timer"
[ "$HUB" = 1 ] && UNITS="$UNITS appliance-hub.service"
PREFIX=/opt/appliance
CHANGES=0

say()    { echo "ok:     $*"; }
change() { CHANGES=$((CHANGES + 1)); if [ "$DRY" = 1 ]; then echo "would:  $*"; else echo "do:     $*"; fi; }
skip()   { echo "skip:   $* (--root: acts on the running system)"; }
run()    { [ "$DRY" = 1 ] || "$@"; }

install_file() {  # SRC DST MODE: copy when missing or different
    local src="$1" dst="$ROOT$2" mode="$3"
    if [ -f "$dst" ] && cmp -s "$src" "$dst"; then say "$2"; return; fi
    change "install $2 (mode $mode)"
    run install -D -m "$mode" "$src" "$dst"
}

ensure_dir() {  # DIR MODE
    local dir="$ROOT$1"
    if [ -d "$dir" ]; then say "directory $1"; return; fi
    change "create directory $1 (mode $2)"
    run install -d -m "$2" "$dir"
}

step_packages() {
    if [ -n "$ROOT" ]; then skip "Debian packages"; return; fi
    local missing="" p
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    if [ -z "$missing" ]; then say "Debian packages"; return; fi
    change "apt-get install$missing"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

step_user() {
    if [ -n "$ROOT" ]; then skip "system user appliance and its groups"; return; fi
    if id appliance >/dev/null 2>&1; then say "user appliance"; else
        change "create system user appliance"
        run useradd --system --home-dir /var/lib/appliance --no-create-home --shell /usr/sbin/nologin appliance
    fi
    if [ "$HUB" = 1 ]; then
        if id appliance-hub >/dev/null 2>&1; then say "user appliance-hub"; else
            change "create system user appliance-hub"
            run useradd --system --home-dir /var/lib/appliance-hub --no-create-home --shell /usr/sbin/nologin appliance-hub
        fi
    fi
    local g
    for g in $GROUPS_WANTED; do
        getent group "$g" >/dev/null || { say "group $g does not exist here"; continue; }
        if id -nG appliance 2>/dev/null | tr ' ' '\n' | grep -qx "$g"; then say "appliance in group $g"; else
            change "add appliance to group $g"
            run usermod -aG "$g" appliance
        fi
    done
}

step_venv() {
    if [ -n "$ROOT" ]; then skip "venv in $PREFIX/venv"; return; fi
    local want have
    want="$(cd "$SRC" && find pyproject.toml appliance -type f ! -name '*.pyc' | sort | xargs sha256sum | sha256sum | cut -c1-16)"
    have="$(cat "$PREFIX/venv/.source-hash" 2>/dev/null || true)"
    if [ "$want" = "$have" ]; then say "venv $PREFIX/venv (source $want)"; return; fi
    change "install the appliance into $PREFIX/venv (source $want)"
    run install -d -m 0755 "$PREFIX"
    [ -x "$PREFIX/venv/bin/python" ] || run python3 -m venv "$PREFIX/venv"
    run "$PREFIX/venv/bin/pip" install -q --upgrade pip
    run "$PREFIX/venv/bin/pip" install -q "$SRC[usb,serial]"
    [ "$DRY" = 1 ] || echo "$want" > "$PREFIX/venv/.source-hash"
}

step_config() {
    ensure_dir /etc/appliance 0750
    if [ -f "$ROOT/etc/appliance/appliance.toml" ]; then say "/etc/appliance/appliance.toml (kept as is)"
    else install_file "$SRC/provisioning/appliance.toml.example" /etc/appliance/appliance.toml 0640; fi
    install_file "$SRC/provisioning/appliance.toml.example" /etc/appliance/appliance.toml.example 0644
    ensure_dir /var/lib/appliance 0750
    if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && id appliance >/dev/null 2>&1; then
        chgrp appliance /etc/appliance /etc/appliance/appliance.toml
        chown appliance:appliance /var/lib/appliance
    fi
}

step_udev() {
    local before=$CHANGES
    install_file "$SRC/provisioning/udev/99-appliance-printer.rules" /etc/udev/rules.d/99-appliance-printer.rules 0644
    if [ "$CHANGES" != "$before" ] && [ -z "$ROOT" ]; then run udevadm control --reload; run udevadm trigger; fi
}

step_tpm() {
    [ "$TPM" = 1 ] || { say "TPM overlay not requested (--tpm)"; return; }
    local cfg="$ROOT/boot/firmware/config.txt"
    [ -f "$cfg" ] || [ -n "$ROOT" ] || cfg="/boot/config.txt"
    if [ -f "$cfg" ] && grep -qx 'dtoverlay=tpm-slb9670' "$cfg"; then say "dtoverlay=tpm-slb9670 in ${cfg#$ROOT}"; return; fi
    change "add dtparam=spi=on, dtoverlay=tpm-slb9670 to ${cfg#$ROOT} (takes effect after a reboot)"
    if [ "$DRY" = 0 ]; then
        install -d "$(dirname "$cfg")"
        grep -qx 'dtparam=spi=on' "$cfg" 2>/dev/null || echo 'dtparam=spi=on' >> "$cfg"
        echo 'dtoverlay=tpm-slb9670' >> "$cfg"
    fi
}

step_units() {
    local before=$CHANGES u
    for u in $UNITS; do install_file "$SRC/systemd/$u" "/etc/systemd/system/$u" 0644; done
    # the daily purge timer runs this oneshot service
    case " $UNITS " in *" appliance-purge.timer "*)
        install_file "$SRC/systemd/appliance-purge.service" /etc/systemd/system/appliance-purge.service 0644;; esac
    if [ -n "$ROOT" ]; then skip "systemctl daemon-reload and enable"; return; fi
    [ "$CHANGES" = "$before" ] || run systemctl daemon-reload
    for u in $UNITS; do
        if systemctl is-enabled --quiet "$u" 2>/dev/null; then say "$u enabled"; else
            change "enable $u"
            run systemctl enable "$u"
        fi
    done
}

ensure_link() {  # LINK TARGET: a symlink LINK -> TARGET
    local link="$ROOT$1"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$2" ]; then say "link $1"; return; fi
    change "link $1 -> $2"
    run install -d -m 0755 "$(dirname "$link")"
    run ln -sfn "$2" "$link"
}

ensure_tls_cert() {  # STEM: a self-signed certificate for nginx until the centre's own replaces it
    local cert="/etc/appliance/tls/$1-cert.pem" key="/etc/appliance/tls/$1-key.pem" name
    if [ -f "$ROOT$cert" ] && [ -f "$ROOT$key" ]; then say "$cert (kept as is)"; return; fi
    name="$(hostname 2>/dev/null || echo appliance)"
    change "make a self-signed TLS certificate $cert for $name (replace it with the centre's)"
    [ "$DRY" = 1 ] && return
    install -d -m 0750 "$ROOT/etc/appliance/tls"
    (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
        -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:$name.local" \
        -keyout "$ROOT$key" -out "$ROOT$cert" 2>/dev/null)
    chmod 0644 "$ROOT$cert"
}

step_nginx() {
    # nginx terminates TLS and buffers slow clients; the apps listen on 127.0.0.1 only
    local before=$CHANGES site=appliance.conf stem=web
    [ "$HUB" = 1 ] && site=hub.conf stem=hub
    install_file "$SRC/provisioning/nginx/$site" "/etc/nginx/sites-available/$site" 0644
    ensure_link "/etc/nginx/sites-enabled/$site" "/etc/nginx/sites-available/$site"
    if [ -e "$ROOT/etc/nginx/sites-enabled/default" ] || [ -L "$ROOT/etc/nginx/sites-enabled/default" ]; then
        change "disable nginx's default site (it also listens on port 80)"
        run rm -f "$ROOT/etc/nginx/sites-enabled/default"
    else say "nginx default site disabled"; fi
    install_file "$SRC/systemd/nginx.service.d/appliance.conf" /etc/systemd/system/nginx.service.d/appliance.conf 0644
    ensure_tls_cert "$stem"
    if [ -n "$ROOT" ]; then skip "nginx -t and reload"; return; fi
    if [ "$CHANGES" != "$before" ]; then
        run nginx -t -q
        run systemctl daemon-reload
        run systemctl reload-or-restart nginx
    fi
    if systemctl is-enabled --quiet nginx 2>/dev/null; then say "nginx enabled"; else
        change "enable nginx"
        run systemctl enable nginx
    fi
}

step_packages
step_user
step_venv
step_config
step_udev
step_tpm
step_units
step_nginx
if [ "$DRY" = 1 ]; then echo "dry run: $CHANGES change(s) would be made"; else echo "done: $CHANGES change(s) made"; fi
