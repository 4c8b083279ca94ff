// srun and salloc: job steps and interactive allocations are not implemented yet. They answer
// --help/--usage/--version and report anything else as unsupported, with Slurm's exit code.
#include <cstdio>
#include <string>

#include "cli/command_util.h"
#include "cli/commands.h"

namespace shoal {
namespace {

int NotYet(const char* prog, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version" || a == "-V") {
      fputs(kVersionLine, stdout);
      return 0;
    }
    if (a == "--help" || a == "--usage" || a == "-h") {
      printf("Usage: %s [OPTIONS(0)...] [ : [OPTIONS(N)...]] executable(0) [args(0)...]\n", prog);
      printf("%s: job steps are not supported yet\n", prog);
      return 0;
    }
  }
  fprintf(stderr, "%s: error: job steps are not supported yet\n", prog);
  return 1;
}

}  // namespace

int SrunMain(int argc, char** argv) { return NotYet("srun", argc, argv); }

int SallocMain(int argc, char** argv) { return NotYet("salloc", argc, argv); }

}  // namespace shoal
