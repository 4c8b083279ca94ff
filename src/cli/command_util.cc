#include "cli/command_util.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <unistd.h>

#include "common/strings.h"

namespace shoal {

int ReportError(const CliError& err) {
  fputs(err.text.c_str(), stderr);
  return err.exit_code;
}

GetoptResult RunGetopt(std::string_view prog, const std::vector<std::string>& args,
                       const char* short_opts, const option* long_opts) {
  GetoptResult result;
  // getopt_long permutes and keeps pointers into argv: give it private, writable copies.
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.emplace_back(prog);
  for (size_t i = 1; i < args.size(); ++i) storage.push_back(args[i]);
  std::vector<char*> argv;
  argv.reserve(storage.size() + 1);
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(storage.size());

  optind = 0;  // glibc: 0 re-initialises the scanner, so repeated calls start afresh
  opterr = 1;
  for (;;) {
    int long_index = -1;
    int id = getopt_long(argc, argv.data(), short_opts, long_opts, &long_index);
    if (id == -1) break;
    if (id == '?' || id == ':') {
      result.ok = false;
      return result;
    }
    ParsedOption opt;
    opt.id = id;
    if (optarg != nullptr) {
      opt.arg = optarg;
      opt.has_arg = true;
    }
    if (long_index >= 0) opt.long_name = long_opts[long_index].name;
    result.options.push_back(std::move(opt));
  }
  for (int i = optind; i < argc; ++i) result.operands.emplace_back(argv[i]);
  return result;
}

std::string TryHelpLine(std::string_view prog) {
  return "Try \"" + std::string(prog) + " --help\" for more information\n";
}

std::vector<std::string> ArgsOf(int argc, char** argv) {
  std::vector<std::string> args;
  args.reserve(static_cast<size_t>(argc));
  for (int i = 0; i < argc; ++i) args.emplace_back(argv[i]);
  return args;
}

std::optional<std::string> GetEnv(const char* name) {
  const char* v = getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

int64_t NowEpoch() { return static_cast<int64_t>(time(nullptr)); }

std::string CurrentDir() {
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) != nullptr) return buf;
  if (const char* pwd = getenv("PWD")) return pwd;
  return "/";
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

std::optional<uint64_t> ParseCount(std::string_view text) { return ParseUint(Trim(text)); }

}  // namespace shoal
