#include "emulator/executors.h"

#include <algorithm>
#include <cmath>
#include <csignal>

#include "common/strings.h"

namespace shoal::emulator {
namespace {

// A numeric argument, or `fallback` when absent or not a number.
double Arg(const ExecutorInput& in, const std::string& key, double fallback) {
  auto it = in.args.find(key);
  if (it == in.args.end()) return fallback;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  return end != nullptr && *end == '\0' && std::isfinite(v) && v >= 0 ? v : fallback;
}

// Run times vary by +-20% around their nominal value, as real ones do.
int64_t Jitter(double seconds, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> spread(0.8, 1.2);
  return std::max<int64_t>(0, std::llround(seconds * spread(rng)));
}

ExecutorRegistry MakeBuiltin() {
  ExecutorRegistry r;
  r.Register("sleep", [](const ExecutorInput& in, std::mt19937_64&) {
    return ExecutorOutcome{std::llround(Arg(in, "seconds", 30)), 0, 0, "slept"};
  });
  r.Register("cpu", [](const ExecutorInput& in, std::mt19937_64& rng) {
    return ExecutorOutcome{Jitter(Arg(in, "seconds", 60), rng), 0, 0, "computed"};
  });
  // An n x n matrix product: 2n^3 flops at an assumed 10 GFLOP/s per CPU, or 10 TFLOP/s per
  // GPU when it has GPUs.
  r.Register("matmul", [](const ExecutorInput& in, std::mt19937_64& rng) {
    const double n = Arg(in, "n", 8192);
    const double rate = in.gpus > 0 ? 1e13 * in.gpus : 1e10 * std::max<uint32_t>(1, in.cpus);
    const double repeats = Arg(in, "repeats", 100);
    return ExecutorOutcome{Jitter(std::max(1.0, repeats * 2 * n * n * n / rate), rng), 0, 0,
                           "multiplied"};
  });
  r.Register("crash", [](const ExecutorInput& in, std::mt19937_64& rng) {
    std::bernoulli_distribution segfault(0.5);
    const int64_t after = Jitter(Arg(in, "after", 10), rng);
    return segfault(rng) ? ExecutorOutcome{after, 0, SIGSEGV, "segmentation fault"}
                         : ExecutorOutcome{after, 1, 0, "exited with an error"};
  });
  r.Register("hang", [](const ExecutorInput&, std::mt19937_64&) {
    return ExecutorOutcome{kUntilKilled, 0, 0, "hung until its time limit"};
  });
  r.Register("oom", [](const ExecutorInput& in, std::mt19937_64& rng) {
    return ExecutorOutcome{Jitter(Arg(in, "after", 15), rng), 0, SIGKILL,
                           "killed for exceeding its memory"};
  });
  return r;
}

}  // namespace

void ExecutorRegistry::Register(std::string name, Executor executor) {
  executors_[std::move(name)] = std::move(executor);
}

const Executor* ExecutorRegistry::Find(std::string_view name) const {
  auto it = executors_.find(name);
  return it == executors_.end() ? nullptr : &it->second;
}

std::vector<std::string> ExecutorRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, e] : executors_) names.push_back(name);
  return names;
}

const ExecutorRegistry& ExecutorRegistry::Builtin() {
  static const ExecutorRegistry registry = MakeBuiltin();
  return registry;
}

Result<std::map<std::string, std::string>> ParseExecutorArgs(std::string_view text) {
  std::map<std::string, std::string> args;
  if (Trim(text).empty()) return args;
  for (const std::string& part : Split(text, ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("invalid emulated job argument '" + part + "' (expected key=value)");
    }
    args[std::string(Trim(part.substr(0, eq)))] = std::string(Trim(part.substr(eq + 1)));
  }
  return args;
}

}  // namespace shoal::emulator
