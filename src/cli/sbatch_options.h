// sbatch's option handling, kept apart from I/O so it can be tested: the command line, the
// script's #SBATCH directives and the SBATCH_* variables merge into one SubmitRequest with
// Slurm's precedence (command line over environment over directives).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/json_model.h"
#include "cli/command_util.h"
#include "cli/users.h"

namespace shoal {

// Where an option came from; a later source overrides an earlier one.
enum class OptionSource : uint8_t { kNone, kScript, kEnv, kCommandLine };

struct SbatchOptions {
  SubmitRequest submit;
  int64_t now = 0;  // for --begin

  // Output and behaviour of sbatch itself.
  bool parsable = false;
  bool quiet = false;
  bool wait = false;
  int verbose = 0;
  bool help = false;
  bool usage = false;
  bool version = false;

  bool has_wrap = false;
  std::string wrap;
  std::string export_spec = "ALL";
  std::string chdir;  // -D as written; resolved against the cwd at the end

  // What was given, for the values derived at the end.
  bool nodes_set = false;
  bool ntasks_set = false;
  bool requeue_set = false;  // --requeue or --no-requeue: else the cluster's JobRequeue
  std::string gpus_total;  // --gpus as written ("[type:]N"), spread over the nodes at the end
  std::string gpus_per_task;  // --gpus-per-task as written, per node once tasks are placed
  // The last source that gave --mem / --mem-per-cpu: the higher one wins, both from the same
  // source is an error.
  OptionSource mem_source = OptionSource::kNone;
  OptionSource mem_per_cpu_source = OptionSource::kNone;

  // A problem the controller would refuse the job for ("Invalid job array specification");
  // reported as a failed submission, after the local checks, like Slurm.
  std::string submit_error;
};

struct SbatchCommandLine {
  std::vector<ParsedOption> options;
  std::vector<std::string> operands;  // the script, then its arguments
};

// Parses sbatch's argv. On an unknown option glibc's message plus the "Try" line, exit 255.
std::variant<SbatchCommandLine, CliError> ParseSbatchCommandLine(
    const std::vector<std::string>& args);

// The options in the script's "#SBATCH" lines, read up to the first line that is neither blank
// nor a comment.
std::variant<std::vector<ParsedOption>, CliError> ParseSbatchDirectives(std::string_view script);

// Options given through SBATCH_* variables; `env` holds "KEY=VALUE" entries.
std::vector<ParsedOption> SbatchEnvOptions(const std::vector<std::string>& env);

// The command line's own settings (--help, --wrap, --parsable ...) before any script is read;
// reports the errors in its option values.
std::variant<SbatchOptions, CliError> ProbeSbatchCommandLine(const SbatchCommandLine& cmdline,
                                                             int64_t now);

// Applies one option from `source`. Errors carry Slurm's message and exit code.
std::optional<CliError> ApplySbatchOption(const ParsedOption& opt, OptionSource source,
                                          SbatchOptions* o);

// Applies sbatch's long option `long_name` (e.g. "ntasks-per-node", "gres", "mem") with `arg`:
// for srun and salloc, which share sbatch's job options. Errors read "sbatch: error: ...".
std::optional<CliError> ApplySbatchLongOption(std::string_view long_name, const std::string& arg,
                                              SbatchOptions* o);

// Slurm's checks on the script text: not empty, not only whitespace, no DOS line breaks,
// starts with "#!".
std::optional<CliError> CheckBatchScript(std::string_view script);

// The wrapper script sbatch --wrap submits.
std::string WrapScript(std::string_view command);

// What FinishSbatchRequest needs to know about the submitting process.
struct SubmitContext {
  UserIdentity user;
  std::string cwd;
  std::string host;
  std::vector<std::string> environ;  // "KEY=VALUE", the submitting environment
  std::string script_path;           // as given; "" for stdin or --wrap
  std::string script;                // the script text
  std::vector<std::string> args;     // operands after the script
};

// Normalizes the container options' image and mounts against `cwd` and checks them all (shared
// with srun). Errors read "sbatch: error: --container-...".
std::optional<CliError> FinishContainerSpec(const std::string& cwd, ContainerSpec* c);

// Completes the request: identity, directories, defaults (job name), counts derived from
// each other, GPUs, memory checks, and the job's environment per --export.
std::optional<CliError> FinishSbatchRequest(const SubmitContext& ctx, SbatchOptions* o);

// Everything above in Slurm's order for a command line, a script, and an environment: the
// request sbatch would send, or the error it would print. `script` is the script text for
// a file or stdin script (ignored with --wrap).
std::variant<SbatchOptions, CliError> BuildSbatchRequest(const SbatchCommandLine& cmdline,
                                                         const SubmitContext& ctx, int64_t now);

// Help and usage texts.
std::string SbatchUsageText();
std::string SbatchHelpText();

}  // namespace shoal
