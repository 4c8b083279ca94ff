// shoal-supervisor JOB_DIR: runs one batch job; see supervisor.h. Started by shoal-agent, kept
// free of gRPC and protobuf so that it starts in about a millisecond.
#include <cstdio>
#include <cstring>

#include "agent/supervisor.h"

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '\0' || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: shoal-supervisor JOB_DIR\n");
    return 2;
  }
  return shoal::agent::RunSupervisor(argv[1]);
}
