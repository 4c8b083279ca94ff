#include "common/signals.h"

#include <csignal>

#include "common/strings.h"

namespace shoal {
namespace {

struct SignalEntry {
  const char* name;
  int number;
};

// Canonical names first so SignalName picks them over the aliases further down.
constexpr SignalEntry kSignals[] = {
    {"HUP", SIGHUP},
    {"INT", SIGINT},
    {"QUIT", SIGQUIT},
    {"ILL", SIGILL},
    {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},
    {"BUS", SIGBUS},
    {"FPE", SIGFPE},
    {"KILL", SIGKILL},
    {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},
    {"ALRM", SIGALRM},
    {"TERM", SIGTERM},
    {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},
    {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},
    {"URG", SIGURG},
    {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},
    {"IO", SIGIO},
    {"SYS", SIGSYS},
#ifdef SIGSTKFLT
    {"STKFLT", SIGSTKFLT},
#endif
#ifdef SIGPWR
    {"PWR", SIGPWR},
#endif
    // Aliases.
    {"IOT", SIGABRT},
    {"CLD", SIGCHLD},
    {"POLL", SIGIO},
};

constexpr int kMaxSignal = 64;

}  // namespace

std::optional<int> ParseSignal(std::string_view text) {
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    auto n = ParseUint(text);
    if (!n || *n < 1 || *n > kMaxSignal) return std::nullopt;
    return static_cast<int>(*n);
  }
  std::string name = ToUpper(text);
  std::string_view bare = name;
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  for (const SignalEntry& e : kSignals) {
    if (bare == e.name) return e.number;
  }
  return std::nullopt;
}

std::string SignalName(int sig) {
  for (const SignalEntry& e : kSignals) {
    if (e.number == sig) return e.name;
  }
  return std::to_string(sig);
}

}  // namespace shoal
