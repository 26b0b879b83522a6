#!/usr/bin/env bash
# ctest install_stands_alone (issue 25): `cmake --install --strip` into a temporary prefix, the
# prefix moved elsewhere, and the installed tools run from there with DAPDEE_NETWORKS unset and a
# working directory outside the checkout. Checks: the data and man pages are installed; presets
# and device specs come from PREFIX/share/dapdee (a preset deleted there is unknown, though the
# checkout has it); DAPDEE_NETWORKS overrides; the installed quiet-check runs the installed tools;
# no checkout or build path is left in any installed binary.
#   tests/install_stands_alone.sh CMAKE BUILD_DIR SOURCE_DIR [sanitized]
# With "sanitized" (an ASan/UBSan build) the path check is left out, saying so: UBSan's
# diagnostics carry source file names by design; packages and installs are release builds.
set -euo pipefail
cmake="$1" build="$(cd "$2" && pwd)" src="$(cd "$3" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_stands_alone: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$tmp/first" --strip >/dev/null
mv "$tmp/first" "$tmp/moved"
p="$tmp/moved"
for f in bin/dapdee-plan bin/dapdee-import bin/dapdee-profile bin/dapdee-split share/dapdee/networks/4G.json \
  share/dapdee/networks/3G.json share/dapdee/specs/rpi4.json share/dapdee/scripts/quiet-check \
  share/man/man1/dapdee-plan.1 share/man/man1/dapdee-profile.1; do
  [ -e "$p/$f" ] || fail "not installed: $f"
done
[ ! -e "$p/dapdee-source-dir" ] && [ ! -e "$p/bin/dapdee-source-dir" ] || fail "the build tree's marker was installed"

# Inputs copied out of the checkout, run from a folder outside it.
mkdir "$tmp/inputs"
cp "$src/profiles/dags/googlenet.dag.json" "$src/profiles/predicted/googlenet.rpi4.json" \
  "$src/profiles/predicted/googlenet.edge-t4.json" "$tmp/inputs/"
cd "$tmp/inputs"
unset DAPDEE_NETWORKS
plan() { "$p/bin/dapdee-plan" googlenet.dag.json --device googlenet.rpi4.json --edge googlenet.edge-t4.json \
  --deadline 200 --format csv "$@"; }
plan --network 4G >4g.csv || fail "dapdee-plan --network 4G failed from the moved install"
# The preset is read from the install: removed there, it is unknown (the checkout still has it).
rm "$p/share/dapdee/networks/3G.json"
if plan --network 3G >/dev/null 2>err.txt; then fail "--network 3G found a preset that is not installed"; fi
grep -q "unknown network '3G'" err.txt || fail "unexpected error: $(cat err.txt)"
# The same plan with the preset given as a file: the installed 4G is the checkout's 4G.
plan --network "$src/networks/4G.json" | cmp -s - 4g.csv || fail "the installed 4G preset plans differently"
# DAPDEE_NETWORKS overrides the installed presets.
mkdir nets
printf '{"format": "dapdee-network/1", "name": "Slow", "uplink_mbps": 0.5, "delay_ms": 50}\n' >nets/Slow.json
DAPDEE_NETWORKS="$tmp/inputs/nets" plan --network Slow >/dev/null || fail "DAPDEE_NETWORKS=DIR --network Slow failed"
if DAPDEE_NETWORKS="$tmp/inputs/nets" plan --network 4G >/dev/null 2>&1; then fail "DAPDEE_NETWORKS did not override"; fi
# A bundled device spec by name, from the install.
"$p/bin/dapdee-profile" predict googlenet.dag.json --device rpi4 -o pred.json || fail "predict --device rpi4 failed"
# The installed quiet-check uses the installed tools and asks for a model.
set +e
"$p/share/dapdee/scripts/quiet-check" >/dev/null 2>qc.txt
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "usage:" qc.txt || fail "installed quiet-check without a model: exit $rc, $(cat qc.txt)"
# No path into the checkout or the build tree in an installed binary.
if [ "${4:-}" = sanitized ]; then
  echo "install_stands_alone: the no-source-path check is left out in a sanitizer build (UBSan embeds file names)"
  echo "install_stands_alone: passed ($(find "$p" -type f | wc -l) files installed)"
  exit 0
fi
for f in "$p"/bin/*; do
  for path in "$src" "$build"; do
    if grep -qaF "$path" "$f"; then fail "$f names $path"; fi
  done
done
echo "install_stands_alone: passed ($(find "$p" -type f | wc -l) files installed)"
