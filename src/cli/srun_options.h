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
  bool unbuffered = false;  // -u: pass output on as it arrives instead of whole lines
  bool help = false;
  bool usage = false;
  bool version = false;
  bool quiet = false;
  int verbose = 0;
  std::string input_file;  // -i FILE: its contents go to the tasks instead of srun's stdin
  std::string jobid;  // --jobid: the allocation to run in (else SLURM_JOB_ID)
  bool nodes_set = false;
  std::vector<std::string> command;  // the program and its arguments
};

// Parses the command line of `prog` ("srun" or "salloc"). Errors carry Slurm's message and exit
// code, prefixed with `prog`.
std::variant<SrunOptions, CliError> ParseSrunCommandLine(std::string_view prog,
                                                         const std::vector<std::string>& args,
                                                         int64_t now);

// A task of a step that did not exit 0, as its node's supervisor reports it to srun.
struct TaskExit {
  std::string node;
  uint32_t rank = 0;
  int status = 0;  // a wait(2) status
};

// The lines Slurm's srun prints for failed tasks, one per node and outcome, ranks as ranges:
// "srun: error: node2: tasks 2-3: Exited with exit code 1", "srun: error: node1: task 0: Killed".
// Ordered by lowest rank. `signals` false leaves out tasks ended by a signal (srun itself
// stopped the step on Ctrl-C or SIGTERM).
std::vector<std::string> TaskExitLines(const std::vector<TaskExit>& exits, bool signals);

std::string SrunUsageText(std::string_view prog);
std::string SrunHelpText(std::string_view prog);

}  // namespace shoal
