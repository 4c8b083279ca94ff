// shoal-supervisor JOB_DIR: runs one batch job; see supervisor.h. Started by shoal-agent, kept
// free of gRPC and protobuf so that it starts in about a millisecond; usually forked from the
// agent's launcher (`shoal-supervisor --launcher FD PAD`, launcher.h) rather than executed.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "agent/launcher.h"
#include "agent/supervisor.h"

int main(int argc, char** argv) {
  // shoal-supervisor --launcher FD PADDING: the agent's resident launcher (launcher.h).
  if (argc == 4 && std::strcmp(argv[1], "--launcher") == 0) {
    char* end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
    return shoal::agent::RunLauncher(std::atoi(argv[2]), argv[0],
                                     static_cast<size_t>(end - argv[0]));
  }
  if (argc != 2 || argv[1][0] == '\0' || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: shoal-supervisor JOB_DIR\n");
    return 2;
  }
  return shoal::agent::RunSupervisor(argv[1]);
}
