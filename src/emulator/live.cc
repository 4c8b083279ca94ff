#include "emulator/live.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"
#include "emulator/executors.h"

namespace shoal::emulator {
namespace {

std::optional<double> ParseNumber(std::string_view text) {
  std::string s(Trim(text));
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

struct JobKind {
  const char* type;
  double weight;
  std::vector<const char*> names;
};

const std::vector<JobKind>& Kinds() {
  static const std::vector<JobKind> kinds = {
      {"sleep", 20, {"wait-for-data", "sync-shards", "poll-queue"}},
      {"cpu", 25, {"preprocess-shard", "tokenize-corpus", "feature-extract", "render-frames"}},
      {"matmul", 35, {"train-resnet50", "train-bert-base", "finetune-llama", "hparam-sweep"}},
      {"crash", 8, {"eval-checkpoint", "convert-weights"}},
      {"hang", 5, {"dataloader-test", "nccl-smoke"}},
      {"oom", 7, {"train-large-batch", "merge-embeddings"}},
  };
  return kinds;
}

constexpr const char* kUsers[] = {"alice", "bob", "carol", "dave", "erin", "frank"};

}  // namespace

Result<double> ParseJobRate(std::string_view text) {
  std::string_view number = text;
  double per = 1;  // minutes per unit
  for (auto [suffix, minutes] : {std::pair<std::string_view, double>{"/min", 1},
                                 {"/m", 1}, {"/h", 60}, {"/s", 1.0 / 60}}) {
    if (number.size() > suffix.size() && number.substr(number.size() - suffix.size()) == suffix) {
      number.remove_suffix(suffix.size());
      per = minutes;
      break;
    }
  }
  std::optional<double> v = ParseNumber(number);
  if (!v || *v / per < 0.1 - 1e-9 || *v / per > 50 + 1e-9) {
    return InvalidArgument("invalid job rate '" + std::string(text) +
                           "' (0.1 to 50 jobs a minute, as 2/min, 30/h or 2)");
  }
  return *v / per;
}

Result<std::pair<double, double>> ParseFailureRate(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("invalid failure rate '" + std::string(text) +
                           "' (percent of nodes a minute, as 5-12%/min, 3% or 0)");
  };
  std::string_view body = text;
  if (body.size() > 4 && body.substr(body.size() - 4) == "/min") body.remove_suffix(4);
  auto percent = [](std::string_view part) {
    if (!part.empty() && part.back() == '%') part.remove_suffix(1);
    return ParseNumber(part);
  };
  const size_t dash = body.find('-', 1);
  std::optional<double> low = percent(body.substr(0, dash));
  std::optional<double> high = dash == std::string_view::npos ? low : percent(body.substr(dash + 1));
  if (!low || !high || *low < 0 || *high > 100 || *low > *high) return bad();
  return std::make_pair(*low, *high);
}

LiveSimulation::LiveSimulation(LiveOptions options, LiveWorld world)
    : options_(std::move(options)), world_(std::move(world)), rng_(options_.seed) {
  SetFailureRate(options_.failure_pct_per_min);
}

void LiveSimulation::SetFailureRate(std::pair<double, double> pct_per_min) {
  options_.failure_pct_per_min = pct_per_min;
  std::uniform_real_distribution<double> draw(pct_per_min.first, pct_per_min.second);
  for (const std::string& node : world_.nodes) {
    node_rate_[node] = pct_per_min.first == pct_per_min.second ? pct_per_min.first : draw(rng_);
  }
}

LiveSimSettings LiveSimulation::settings() const {
  LiveSimSettings s;
  s.job_rate_per_min = options_.job_rate_per_min;
  s.preset = options_.preset;
  s.failure_low_pct = options_.failure_pct_per_min.first;
  s.failure_high_pct = options_.failure_pct_per_min.second;
  return s;
}

bool LiveSimulation::Apply(const LiveSimSettings& wanted) {
  bool changed = false;
  if (wanted.job_rate_per_min != options_.job_rate_per_min || wanted.preset != options_.preset) {
    options_.job_rate_per_min = wanted.job_rate_per_min;
    options_.preset = wanted.preset;
    changed = true;
  }
  const std::pair<double, double> failures = {wanted.failure_low_pct, wanted.failure_high_pct};
  if (failures != options_.failure_pct_per_min) {
    SetFailureRate(failures);
    changed = true;
  }
  return changed;
}

double LiveSimulation::JobRate(double elapsed_s) const {
  if (options_.job_rate_per_min > 0) return options_.job_rate_per_min;
  Result<double> rate = PresetJobRate(options_.preset, elapsed_s / 60);
  return rate.ok() ? *rate : 2.0;
}

SubmitRequest LiveSimulation::DrawJob() {
  std::vector<double> weights;
  for (const JobKind& k : Kinds()) weights.push_back(k.weight);
  const JobKind& kind = Kinds()[std::discrete_distribution<size_t>(weights.begin(), weights.end())(rng_)];
  auto pick = [&](auto& list) { return list[std::uniform_int_distribution<size_t>(0, std::size(list) - 1)(rng_)]; };
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); };

  SubmitRequest s;
  JobRequest& r = s.req;
  r.name = pick(kind.names);
  r.user = pick(kUsers);
  r.work_dir = "/tmp";
  r.stdout_pattern = "/dev/null";
  r.command = "(emulated)";
  r.requeue = true;
  r.min_nodes = std::bernoulli_distribution(0.15)(rng_) ? 2 : 1;
  r.cpus_per_task = static_cast<uint32_t>(uniform(1, std::max<uint32_t>(1, options_.cpus_per_node / 2)));
  r.ntasks = r.min_nodes;
  const bool gpu_job = options_.gpus_per_node > 0 && std::string_view(kind.type) != "cpu" &&
                       std::bernoulli_distribution(0.7)(rng_);
  if (gpu_job) r.gpus_per_node = static_cast<uint32_t>(uniform(1, options_.gpus_per_node));
  r.time_limit_s = uniform(5, 30) * 60;
  std::string args;
  const std::string type = kind.type;
  if (type == "sleep") args = "seconds=" + std::to_string(uniform(20, 180));
  if (type == "cpu") args = "seconds=" + std::to_string(uniform(30, 300));
  if (type == "matmul") {
    args = "n=" + std::to_string(uniform(2, 8) * 2048) + ",repeats=" + std::to_string(uniform(50, 3000));
  }
  if (type == "crash" || type == "oom") args = "after=" + std::to_string(uniform(5, 60));
  if (type == "hang") r.time_limit_s = uniform(2, 4) * 60;
  s.script = "#!/bin/sh\n# emulated " + type + " job (shoal sim live)\ntrue\n";
  s.env = {"SHOAL_EMULATE_TYPE=" + type, "SHOAL_EMULATE_ARGS=" + args, "PATH=/usr/bin:/bin"};
  return s;
}

std::vector<std::string> LiveSimulation::Step(double elapsed_s, double dt_s) {
  std::vector<std::string> events;
  // Recoveries due.
  for (auto it = down_until_.begin(); it != down_until_.end();) {
    if (it->second <= elapsed_s) {
      if (world_.revive(it->first)) {
        ++stats_.recoveries;
        events.push_back(it->first + " recovered");
      }
      it = down_until_.erase(it);
    } else {
      ++it;
    }
  }
  // Failures: each node up fails with its own rate (a Poisson process).
  for (const std::string& node : world_.nodes) {
    if (down_until_.count(node)) continue;
    const double p = 1 - std::exp(-node_rate_[node] / 100 * dt_s / 60);
    if (p > 0 && std::bernoulli_distribution(p)(rng_) && world_.crash(node)) {
      const double back = static_cast<double>(std::uniform_int_distribution<int64_t>(
          options_.recovery_s.first, options_.recovery_s.second)(rng_));
      down_until_[node] = elapsed_s + back;
      ++stats_.failures;
      events.push_back(node + " failed (back in " + std::to_string(static_cast<int64_t>(back)) +
                       " s)");
    }
  }
  // Submissions: Poisson arrivals at the rate in force.
  const int n = std::poisson_distribution<int>(JobRate(elapsed_s) * dt_s / 60)(rng_);
  for (int i = 0; i < n; ++i) {
    SubmitRequest job = DrawJob();
    std::string type = job.env[0].substr(std::string_view("SHOAL_EMULATE_TYPE=").size());
    Result<uint64_t> id = world_.submit(job);
    if (id.ok()) {
      ++stats_.submitted;
      ++stats_.by_type[type];
      events.push_back("job " + std::to_string(*id) + " submitted: " + job.req.name + " (" +
                       type + ") by " + job.req.user);
    } else {
      ++stats_.submit_errors;
      events.push_back("submission refused: " + id.status().message());
    }
  }
  return events;
}

}  // namespace shoal::emulator
