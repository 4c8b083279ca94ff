#!/usr/bin/env bash
# The commands users run in loops (`shoal` and its Slurm-named links) and the supervisor started
# for every job must start fast: none may load gRPC, protobuf, a database client, OpenSSL or the
# HTTP server library (TARGETS.md: a process start is the floor of every command's time). Only
# the link lists in CMake keep it so; this fails naming the library that crept in.
#   lean_binaries.sh BUILD_BIN_DIR
bin=${1:?usage: lean_binaries.sh BUILD_BIN_DIR}
heavy='libgrpc|libgpr|libprotobuf|libabsl|libsqlite3|libpq|libssl|libcrypto|libmicrohttpd|libcurl'
# A static binary has no list of libraries to read: look for each library's entry point instead.
heavy_symbols='grpc_init|_ZN6google8protobuf|sqlite3_open|PQconnectdb|SSL_new|MHD_start_daemon|curl_easy_init'
failed=0
for exe in shoal shoal-supervisor; do
  if [ ! -x "$bin/$exe" ]; then echo "$exe: not built in $bin"; failed=1; continue; fi
  libs=$(readelf -d "$bin/$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  bad=$(grep -E "^($heavy)" <<< "$libs" || true)
  bad+=" "$(nm "$bin/$exe" 2>/dev/null | awk '{print $NF}' | grep -E "^($heavy_symbols)" | head -3 || true)
  if [ -n "${bad// /}" ]; then
    echo "$exe must stay lean, but needs:" $bad
    failed=1
  fi
done
# Both are linked statically: they need no library at all (except in a sanitizer build, whose
# runtimes cannot be linked so).
for exe in shoal shoal-supervisor; do
  needed=$(readelf -d "$bin/$exe" 2>/dev/null | grep NEEDED || true)
  if [ -n "$needed" ] && ! grep -qE 'lib(asan|tsan|ubsan)' <<< "$needed"; then
    echo "$exe must be linked statically"
    failed=1
  fi
done
[ "$failed" = 0 ] && echo "lean_binaries: 2 passed, 0 failed"
exit "$failed"
