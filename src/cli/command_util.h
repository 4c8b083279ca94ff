// Pieces every Slurm-named command shares: getopt_long driving with Slurm's messages, the
// environment, the clock, and turning controller errors into Slurm's wording.
#pragma once

#include <getopt.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// What -V / --version print: the Slurm release whose behaviour the commands follow.
inline constexpr char kVersionLine[] = "slurm-wlm 22.05.8\n";

// A failure a command reports before exiting: `text` is the complete stderr output (lines
// ending in '\n'), `exit_code` what the process returns.
struct CliError {
  std::string text;
  int exit_code = 1;
};

// Prints err.text to stderr and returns err.exit_code.
int ReportError(const CliError& err);

// One option as getopt_long returned it: its id (the short letter or a long-only id) and its
// argument (empty when it takes none; `has_arg` tells an empty argument from none).
struct ParsedOption {
  int id = 0;
  std::string arg;
  bool has_arg = false;
  std::string long_name;  // the long option's name when written that way
};

struct GetoptResult {
  std::vector<ParsedOption> options;
  std::vector<std::string> operands;  // non-option arguments, in order
  bool ok = true;                     // false: glibc has printed why (unknown option, ...)
};

// Runs getopt_long over `args` (args[0] is ignored) as the command `prog`, so its messages
// read "prog: unrecognized option '--foo'" exactly like Slurm's (which also uses glibc's
// getopt_long). A leading '+' in `short_opts` stops at the first operand (sbatch: the script's
// own arguments follow it). Safe to call repeatedly.
GetoptResult RunGetopt(std::string_view prog, const std::vector<std::string>& args,
                       const char* short_opts, const option* long_opts);

// "Try \"prog --help\" for more information\n"
std::string TryHelpLine(std::string_view prog);

// argv as strings.
std::vector<std::string> ArgsOf(int argc, char** argv);

// The value of an environment variable, nullopt when unset.
std::optional<std::string> GetEnv(const char* name);

// Seconds since the epoch.
int64_t NowEpoch();

// The working directory a job or step is submitted from: getcwd, else $PWD (a directory
// removed under the shell), else "/".
std::string CurrentDir();

// This host's name, "localhost" when it has none.
std::string HostName();

// Parses a whole unsigned decimal number.
std::optional<uint64_t> ParseCount(std::string_view text);

}  // namespace shoal
