// srun's and salloc's option handling, apart from I/O so it can be tested. The job options
// (-N, -n, -c, -t, -p, --gres, --mem, ...) go through sbatch's parsers into the allocation's
// request; the same values also shape the step srun launches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/json_model.h"
#include "cli/command_util.h"
#include "cli/sbatch_options.h"

namespace shoal {

struct SrunOptions {
  SbatchOptions alloc;  // the allocation's request, when srun or salloc makes one
  StepRequest step;     // the step srun launches (argv, env and I/O filled in by srun)
  bool label = false;   // -l: prefix output lines with the task's rank
  bool help = false;
  bool usage = false;
  bool version = false;
  bool quiet = false;
  int verbose = 0;
  std::string jobid;  // --jobid: the allocation to run in (else SLURM_JOB_ID)
  bool nodes_set = false;
  std::vector<std::string> command;  // the program and its arguments
};

// Parses the command line of `prog` ("srun" or "salloc"). Errors carry Slurm's message and exit
// code, prefixed with `prog`.
std::variant<SrunOptions, CliError> ParseSrunCommandLine(std::string_view prog,
                                                         const std::vector<std::string>& args,
                                                         int64_t now);

std::string SrunUsageText(std::string_view prog);
std::string SrunHelpText(std::string_view prog);

}  // namespace shoal
