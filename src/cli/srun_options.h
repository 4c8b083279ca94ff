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
  // --pty: task 0 runs on a pseudo-terminal that srun's stdin and stdout drive (implies -u).
  bool pty = false;
  bool disable_status = false;     // -X: the first Ctrl-C already interrupts the step
  bool quit_on_interrupt = false;  // --quit-on-interrupt: the first Ctrl-C ends the step
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

// What srun does on a Ctrl-C (SIGINT), as Slurm's srun does it: the first prints the tasks'
// states; a second within a second sends SIGINT to the tasks and ends the step (SIGTERM, then
// SIGKILL after KillWait); one more after that leaves at once, without waiting for the tasks.
enum class InterruptAction {
  kStatus,     // print "srun: interrupt (one more within 1 sec to abort)" and the task states
  kInterrupt,  // SIGINT to the tasks, then the termination sequence
  kForce,      // --quit-on-interrupt: the termination sequence at once
  kAbandon,    // stop waiting for the step: srun exits now
};
struct InterruptState {
  int64_t last_status_ms = 0;
  bool status_shown = false;
  bool terminating = false;  // kInterrupt or kForce happened
};
InterruptAction NextInterruptAction(InterruptState& state, int64_t now_ms, bool disable_status,
                                    bool quit_on_interrupt);

// "0", "0-3", "0-1,4": ranks as Slurm lists them (sorted, duplicates dropped).
std::string RankList(std::vector<uint32_t> ranks);

// The status line for a first Ctrl-C: "srun: StepId=12.0 tasks 0-3: running".
std::string TaskStatusLine(const std::string& step_name, uint32_t ntasks);

std::string SrunUsageText(std::string_view prog);
std::string SrunHelpText(std::string_view prog);

}  // namespace shoal
