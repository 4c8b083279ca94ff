#!/usr/bin/env bash
# The commands users run in loops (`shoal` and its Slurm-named links) and the supervisor started
# for every job must start fast: none may load gRPC, protobuf, a database client, OpenSSL or the
# HTTP server library (TARGETS.md: a process start is the floor of every command's time). Only
# the link lists in CMake keep it so; this fails naming the library that crept in.
#   lean_binaries.sh BUILD_BIN_DIR
bin=${1:?usage: lean_binaries.sh BUILD_BIN_DIR}
heavy='libgrpc|libgpr|libprotobuf|libabsl|libsqlite3|libpq|libssl|libcrypto|libmicrohttpd|libcurl'
failed=0
for exe in shoal shoal-supervisor; do
  if [ ! -x "$bin/$exe" ]; then echo "$exe: not built in $bin"; failed=1; continue; fi
  libs=$(readelf -d "$bin/$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  bad=$(grep -E "^($heavy)" <<< "$libs" || true)
  if [ -n "$bad" ]; then
    echo "$exe must stay lean, but needs:" $bad
    failed=1
  fi
done
# The supervisor is linked statically: it needs nothing at all (except in a sanitizer build,
# whose runtimes cannot be linked so).
supervisor_libs=$(readelf -d "$bin/shoal-supervisor" 2>/dev/null | grep NEEDED || true)
if [ -n "$supervisor_libs" ] && ! grep -qE 'lib(asan|tsan|ubsan)' <<< "$supervisor_libs"; then
  echo "shoal-supervisor must be linked statically"
  failed=1
fi
[ "$failed" = 0 ] && echo "lean_binaries: 2 passed, 0 failed"
exit "$failed"
