#!/usr/bin/env bash
# The Debian package and `make install`: cpack builds shoal_<version>_<arch>.deb from this
# build; its files, Depends (only packages Debian's archive knows) and maintainer scripts are
# checked, its systemd units verified, and it is installed, run and purged for real with dpkg in
# a throwaway overlay of this machine's root (a mount namespace: the host is not touched). A
# staged `cmake --install` (DESTDIR) must give a tree whose shoal runs a cluster.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"

skip() {
  echo "SKIP: $*"
  FINISHED=1
  exit 77
}
BUILD=$(cd "$BIN/.." && pwd)
for tool in cpack dpkg-deb dpkg-shlibdeps apt-cache; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (cmake, dpkg-dev, apt)"
done
for exe in shoal shoal-controller shoal-agent shoal-supervisor shoal-emulator shoal-relay; do
  [ -x "$BIN/$exe" ] || skip "$BIN/$exe is not built (make deb builds what the package holds)"
done

# --- the package ------------------------------------------------------------------------------
t0=$(date +%s)
(cd "$BUILD" && cpack -G DEB -B "$WORK/pkg") >"$WORK/cpack.log" 2>&1 ||
  { tail -20 "$WORK/cpack.log"; fail "cpack failed"; exit 1; }
ARCH=$(dpkg --print-architecture)
VERSION=$(sed -n 's/^project(shoal VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
DEB=$WORK/pkg/shoal_${VERSION}_${ARCH}.deb
[ -f "$DEB" ] && ok || { fail "no $DEB: $(ls "$WORK/pkg")"; exit 1; }
echo "package: $(basename "$DEB"), $(($(stat -c %s "$DEB") / 1024)) KiB, built in $(($(date +%s) - t0)) s"

info=$(dpkg-deb -I "$DEB")
expect_match "$info" "Package: shoal" "package name"
expect_match "$info" "Version: $VERSION" "package version"
depends=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $depends"
expect_match "$depends" "libgrpc\+\+" "Depends names gRPC's library (from dpkg-shlibdeps)"
expect_match "$depends" "adduser" "Depends names adduser (postinst)"
expect_match "$(dpkg-deb -f "$DEB" Conflicts)" "slurm-client" "conflicts with Slurm's commands"
# Every dependency (each alternative) is a package of the configured Debian archive.
IFS=',|' read -ra deps <<<"$depends"
for d in "${deps[@]}"; do
  name=$(echo "$d" | sed 's/(.*)//; s/:any//' | tr -d ' ')
  [ -z "$name" ] && continue
  # A real package, or a virtual one that a real package provides (libspdlog1.10-fmt9).
  policy=$(apt-cache policy "$name" 2>/dev/null)
  provided=$(apt-cache showpkg "$name" 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed 1d)
  if [[ "$policy" =~ Candidate:\ [^\(] ]] || [ -n "$provided" ]; then ok; else
    fail "Depends names '$name', which apt does not know"
  fi
done

contents=$(dpkg-deb -c "$DEB")
for f in usr/bin/shoal usr/bin/shoal-controller usr/bin/shoal-agent usr/bin/shoal-supervisor usr/bin/shoal-relay \
  usr/lib/systemd/system/shoal-controller.service usr/lib/systemd/system/shoal-agent.service \
  usr/share/doc/shoal/install.md usr/share/shoal/deploy/compose/compose.yaml; do
  grep -qE " \./$f( |$)" <<<"$contents" && ok || fail "the package does not hold /$f"
done
expect_match "$contents" "usr/bin/sbatch -> shoal" "sbatch is a link to shoal"
mkdir -p "$WORK/control"
dpkg-deb -e "$DEB" "$WORK/control"
for s in postinst prerm postrm; do
  [ -x "$WORK/control/$s" ] && sh -n "$WORK/control/$s" && ok || fail "maintainer script $s"
done

if command -v lintian >/dev/null 2>&1; then
  lintian --no-tag-display-limit "$DEB" >"$WORK/lintian.log" 2>&1
  grep -q '^E:' "$WORK/lintian.log" && { cat "$WORK/lintian.log"; fail "lintian reports errors"; }
  ok
else
  echo "NOTE: lintian is not installed: not run"
fi

# --- installed for real, in an overlay of / -----------------------------------------------------
install_in_overlay() {
  local o=$WORK/overlay
  mkdir -p "$o/upper" "$o/work" "$o/root"
  unshare -m bash -c "
    set -e
    mount -t overlay overlay -o lowerdir=/,upperdir=$o/upper,workdir=$o/work $o/root
    mount --rbind /dev $o/root/dev
    mount -t proc proc $o/root/proc
    cp '$DEB' $o/root/tmp/shoal.deb
    chroot $o/root bash -c '
      set -e
      # The Slurm commands of slurm-client have the same names: the package conflicts with it.
      if dpkg -s slurm-client >/dev/null 2>&1; then
        dpkg --purge --force-depends slurm-client >/dev/null 2>&1
      fi
      dpkg -i /tmp/shoal.deb >/dev/null
      echo version: \$(shoal --version)
      echo user: \$(getent passwd shoal | cut -d: -f1,7)
      echo dirs: \$(stat -c %n /etc/shoal /var/lib/shoal /var/log/shoal)
      if command -v systemd-analyze >/dev/null; then
        systemd-analyze verify /usr/lib/systemd/system/shoal-controller.service \
          /usr/lib/systemd/system/shoal-agent.service 2>&1 && echo units: verified
      else echo units: no systemd-analyze; fi
      shoal init --controller ctl.example --config-dir /etc/shoal >/dev/null
      echo key owner: \$(stat -c %U:%a /etc/shoal/cluster.key)
      dpkg --purge shoal >/dev/null
      echo after purge: \$(getent passwd shoal || echo no user) \$(ls -d /etc/shoal 2>/dev/null || echo no /etc/shoal) \$(ls /usr/bin/shoal 2>/dev/null || echo no shoal)
    '
  "
}
if [ "$(id -u)" = 0 ] && out=$(install_in_overlay 2>&1); then
  echo "$out" | sed 's/^/  /'
  expect_match "$out" "version: shoal $VERSION" "the installed shoal runs"
  expect_match "$out" "user: shoal:/usr/sbin/nologin" "postinst made the system user shoal"
  expect_match "$out" "dirs: /etc/shoal /var/lib/shoal /var/log/shoal" "FHS directories"
  if [[ "$out" == *"units: no systemd-analyze"* ]]; then
    echo "NOTE: systemd-analyze is not installed: units not verified"
  else
    expect_match "$out" "units: verified" "systemd-analyze verify accepts the units"
    [[ "$out" =~ (warning|Unknown|not executable) ]] && fail "systemd-analyze had remarks" || ok
  fi
  expect_match "$out" "key owner: shoal:600" "shoal init gives the keys to the shoal user"
  expect_match "$out" "after purge: no user no /etc/shoal no shoal" "purge removes user and data"
else
  echo "NOTE: cannot install in an overlay of / here (needs root, unshare, overlayfs): ${out:-}"
fi
rm -rf "$WORK/overlay" 2>/dev/null || umount -R "$WORK/overlay/root" 2>/dev/null

# --- make install into a staging directory ---------------------------------------------------------
STAGE=$WORK/stage
DESTDIR=$STAGE cmake --install "$BUILD" --prefix /opt/shoal >"$WORK/install.log" 2>&1 ||
  { tail "$WORK/install.log"; fail "cmake --install"; }
P=$STAGE/opt/shoal
expect_match "$("$P/bin/shoal" --version)" "^shoal $VERSION$" "staged shoal --version"
expect_eq "$(readlink "$P/bin/squeue")" shoal "staged squeue link"
expect_match "$(cat "$P/lib/systemd/system/shoal-agent.service")" \
  "ExecStart=/opt/shoal/bin/shoal-agent --config /etc/shoal/agent.conf" "units name the prefix"
[ -f "$P/share/doc/shoal/install.md" ] && ok || fail "docs not installed"
# The staged tree works on its own: its shoal finds its daemons beside it.
"$P/bin/shoal" up --nodes 1 --state-dir "$SHOAL_STATE_DIR" >"$WORK/up.log" 2>&1 ||
  fail "the staged shoal up failed"
j=$("$P/bin/sbatch" --parsable -o /dev/null --wrap true)
wait_until 15 job_done "$j" || fail "a job on the staged cluster did not finish"
expect_eq "$(job_state "$j")" COMPLETED "a job on the staged cluster"
"$P/bin/shoal" down --state-dir "$SHOAL_STATE_DIR" >/dev/null 2>&1
finish
