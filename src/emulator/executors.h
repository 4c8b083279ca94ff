// What an emulated job does, by type: how long it runs and how it ends. A job names its type
// in its environment (SHOAL_EMULATE_TYPE=matmul, with SHOAL_EMULATE_ARGS="n=4096,seconds=20");
// the live simulator's generator draws types and arguments. Adding a type is one Register call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal::emulator {

struct ExecutorInput {
  std::map<std::string, std::string> args;  // from SHOAL_EMULATE_ARGS "k=v,k=v"
  int64_t time_limit_s = 0;                 // 0: unlimited
  uint32_t cpus = 1;
  uint32_t gpus = 0;
};

struct ExecutorOutcome {
  int64_t run_s = 0;   // how long it runs; kUntilKilled: until its time limit or a signal
  int32_t exit_code = 0;
  int32_t signal = 0;  // a signal it dies of after run_s (SIGSEGV, SIGKILL for memory)
  std::string note;    // what happened, for the simulator's log
};
inline constexpr int64_t kUntilKilled = -1;

using Executor = std::function<ExecutorOutcome(const ExecutorInput&, std::mt19937_64&)>;

class ExecutorRegistry {
 public:
  void Register(std::string name, Executor executor);
  const Executor* Find(std::string_view name) const;
  std::vector<std::string> Names() const;
  // sleep, cpu, matmul, crash, hang and oom.
  static const ExecutorRegistry& Builtin();

 private:
  std::map<std::string, Executor, std::less<>> executors_;
};

// "n=4096,seconds=20" -> {n: 4096, seconds: 20}; a part without '=' is InvalidArgument.
Result<std::map<std::string, std::string>> ParseExecutorArgs(std::string_view text);

}  // namespace shoal::emulator
