#!/usr/bin/env bash
# Run every check and test domxml has: formatting, clippy, unit, integration, property,
# snapshot and schema tests, and the libvirt conformance vectors when ../shared exists.
#
# Installs what the tests need (xmllint, virt-xml-validate, libvirt, QEMU) with apt-get when
# it is missing and we can (root, or sudo without a password). Without them, the tests that
# need them say SKIPPED and the rest still run.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v xmllint >/dev/null 2>&1 || packages+=(libxml2-utils)
command -v virt-xml-validate >/dev/null 2>&1 || packages+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null 2>&1 || packages+=(qemu-system-x86)
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || packages+=(libvirt-daemon libvirt-daemon-driver-qemu)
{ command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libvirt; } || packages+=(libvirt-dev pkg-config)

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(none); fi
  if [ "${sudo[*]-}" = none ]; then
    echo "test.sh: cannot install ${packages[*]} (not root, no sudo); tests needing them will be skipped" >&2
  else
    echo "test.sh: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
fi

# libvirt's embedded QEMU driver (the live differential tests: tests/libvirt_live.rs and
# tests/libvirt_dumpxml.rs, which also need root for `unshare`) will not start without the
# users and groups Debian's libvirt-daemon-system would create; the packages above do not.
if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
  as_root=(); [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  getent group kvm >/dev/null || "${as_root[@]}" groupadd -r kvm
  getent group libvirt-qemu >/dev/null || "${as_root[@]}" groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null \
    || "${as_root[@]}" useradd -r -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu
fi

# Where everything could be installed, the tests that need libvirt and QEMU must really run.
if [ ${#packages[@]} -eq 0 ] || [ "${sudo[*]-}" != none ]; then
  export DOMXML_REQUIRE_REAL=1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --all-features -- -D warnings
echo "== cargo doc"
# Early, with the other cheap checks: a broken doc link should fail in seconds, not after
# the long tests.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet
echo "== cargo test"
# CI=true keeps insta from writing snapshots: a missing or changed snapshot fails. This runs
# the libvirt differentials too (random SCSI domains, 300 random dumpxml exports, live XML,
# fixtures/libvirt-cases): with DOMXML_REQUIRE_REAL set they fail rather than skip.
cargo test --all-features
echo "== real kernel and libvirt cross-checks"
# Boots Debian's kernel under QEMU TCG (packages fetched with apt-get download) and compares
# with libvirt's own lookups over the real captures; each skips with a message when what it
# needs (QEMU, the packages, root, unshare) is missing.
cargo test --all-features --test resolve --test libvirt_crosscheck -- --ignored
echo "== applier load against libvirt's embedded QEMU driver"
# The real-libvirt applier tests (tests/apply_libvirt.rs) run in `cargo test --all-features`
# above; the load test (1,000 attach/detach cycles, about two minutes) is ignored there.
cargo test --features libvirt --test apply_load -- --ignored --nocapture
echo "== library without the CLI"
# A library user's build (default-features = false) must not pull in the CLI's crates.
cargo build --quiet --lib --no-default-features
if cargo tree --no-default-features -e normal --prefix none | grep -E '^(clap|clap_complete|indicatif|miette) '; then
  echo "test.sh: the library without features depends on a CLI crate (above)" >&2
  exit 1
fi
cargo test --quiet --no-default-features --lib --test library_use
echo "== fuzz (${DOMXML_FUZZ_SECONDS:-30}s per target; skipped without nightly)"
# Every submission is fuzzed briefly from the fixtures' seeds; a finding fails CI. Longer
# campaigns: FUZZING.md.
bash scripts/fuzz.sh "${DOMXML_FUZZ_SECONDS:-30}"
echo "test.sh: all checks passed in ${SECONDS}s"
