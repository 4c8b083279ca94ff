#!/usr/bin/env bash
# src/core is the scheduler both the controller and the simulator drive: it must stay pure
# (no clocks, threads, files, sockets or randomness of its own). Fails naming each offending line.
core="$(dirname "$0")/../src/core"
hits=$(grep -rnE '#include *<(thread|mutex|future|fstream|filesystem|chrono|random|sys/[a-z]+\.h|netinet/.*|unistd\.h|fcntl\.h)>|system_clock|steady_clock|std::thread|std::rand\(|time\(nullptr\)|getenv' "$core")
if [ -n "$hits" ]; then
  echo "src/core must stay pure, but has:"
  echo "$hits"
  exit 1
fi
echo "core_is_pure: 1 passed, 0 failed"
