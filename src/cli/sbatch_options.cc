#include "cli/sbatch_options.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/webhook_url.h"
#include "core/container.h"
#include "core/job_array.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sbatch";
// Slurm's hard ceiling for MaxArraySize; the controller applies the configured one.
constexpr uint32_t kArraySizeCeiling = 4000001;
// More GPUs on one node than any count here is a typo; the bound also keeps products in range.
constexpr uint64_t kMaxGpusPerNode = 1024;

// Long-only options.
enum : int {
  kOptBegin = 0x100,
  kOptReservation,
  kOptExclusive,
  kOptExport,
  kOptGpusPerNode,
  kOptGpusPerTask,
  kOptGres,
  kOptHelp,
  kOptMem,
  kOptMemPerCpu,
  kOptNice,
  kOptNoRequeue,
  kOptNtasksPerNode,
  kOptOpenMode,
  kOptParsable,
  kOptRequeue,
  kOptUsage,
  kOptWrap,
  kOptWebhook,  // shoal's own: where the job's state changes are POSTed
  // NVIDIA pyxis's container options (docs/containers.md).
  kOptContainerImage,
  kOptContainerMounts,
  kOptContainerWorkdir,
  kOptContainerName,
  kOptContainerEnv,
  kOptContainerRemapRoot,
  kOptNoContainerRemapRoot,
  kOptContainerMountHome,
  kOptNoContainerMountHome,
  kOptContainerWritable,
  kOptContainerReadonly,
  kOptContainerEntrypoint,
  kOptNoContainerEntrypoint,
  kOptIgnored,      // accepted for compatibility, no effect here (hints, mail, accounting)
  kOptUnsupported,  // would change what the job gets; refused rather than silently dropped
};

// Single letters as Slurm 22.05's sbatch takes them (so bundling and errors match).
constexpr char kShortOpts[] = "+a:A:b:B:c:C:d:D:e:F:G:hHi:J:k::L:m:M:n:N:o:Op:q:QsS:t:vVw:Wx:";

const option kLongOpts[] = {
    {"account", required_argument, nullptr, 'A'},
    {"array", required_argument, nullptr, 'a'},
    {"begin", required_argument, nullptr, 'b'},
    {"cpus-per-task", required_argument, nullptr, 'c'},
    {"constraint", required_argument, nullptr, 'C'},
    {"dependency", required_argument, nullptr, 'd'},
    {"chdir", required_argument, nullptr, 'D'},
    {"error", required_argument, nullptr, 'e'},
    {"nodefile", required_argument, nullptr, 'F'},
    {"gpus", required_argument, nullptr, 'G'},
    {"help", no_argument, nullptr, 'h'},
    {"hold", no_argument, nullptr, 'H'},
    {"input", required_argument, nullptr, 'i'},
    {"job-name", required_argument, nullptr, 'J'},
    {"no-kill", optional_argument, nullptr, 'k'},
    {"licenses", required_argument, nullptr, 'L'},
    {"distribution", required_argument, nullptr, 'm'},
    {"cluster", required_argument, nullptr, 'M'},
    {"clusters", required_argument, nullptr, 'M'},
    {"ntasks", required_argument, nullptr, 'n'},
    {"nodes", required_argument, nullptr, 'N'},
    {"output", required_argument, nullptr, 'o'},
    {"overcommit", no_argument, nullptr, 'O'},
    {"partition", required_argument, nullptr, 'p'},
    {"qos", required_argument, nullptr, 'q'},
    {"quiet", no_argument, nullptr, 'Q'},
    {"oversubscribe", no_argument, nullptr, 's'},
    {"core-spec", required_argument, nullptr, 'S'},
    {"time", required_argument, nullptr, 't'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"nodelist", required_argument, nullptr, 'w'},
    {"wait", no_argument, nullptr, 'W'},
    {"exclude", required_argument, nullptr, 'x'},
    {"exclusive", optional_argument, nullptr, kOptExclusive},
    {"export", required_argument, nullptr, kOptExport},
    {"gpus-per-node", required_argument, nullptr, kOptGpusPerNode},
    {"gpus-per-task", required_argument, nullptr, kOptGpusPerTask},
    {"gres", required_argument, nullptr, kOptGres},
    {"mem", required_argument, nullptr, kOptMem},
    {"mem-per-cpu", required_argument, nullptr, kOptMemPerCpu},
    {"nice", optional_argument, nullptr, kOptNice},
    {"no-requeue", no_argument, nullptr, kOptNoRequeue},
    {"ntasks-per-node", required_argument, nullptr, kOptNtasksPerNode},
    {"open-mode", required_argument, nullptr, kOptOpenMode},
    {"parsable", optional_argument, nullptr, kOptParsable},
    {"requeue", no_argument, nullptr, kOptRequeue},
    {"reservation", required_argument, nullptr, kOptReservation},
    {"usage", no_argument, nullptr, kOptUsage},
    {"wrap", required_argument, nullptr, kOptWrap},
    {"webhook", required_argument, nullptr, kOptWebhook},
    {"container-image", required_argument, nullptr, kOptContainerImage},
    {"container-mounts", required_argument, nullptr, kOptContainerMounts},
    {"container-workdir", required_argument, nullptr, kOptContainerWorkdir},
    {"container-name", required_argument, nullptr, kOptContainerName},
    {"container-env", required_argument, nullptr, kOptContainerEnv},
    {"container-remap-root", no_argument, nullptr, kOptContainerRemapRoot},
    {"no-container-remap-root", no_argument, nullptr, kOptNoContainerRemapRoot},
    {"container-mount-home", no_argument, nullptr, kOptContainerMountHome},
    {"no-container-mount-home", no_argument, nullptr, kOptNoContainerMountHome},
    {"container-writable", no_argument, nullptr, kOptContainerWritable},
    {"container-readonly", no_argument, nullptr, kOptContainerReadonly},
    {"container-entrypoint", no_argument, nullptr, kOptContainerEntrypoint},
    {"no-container-entrypoint", no_argument, nullptr, kOptNoContainerEntrypoint},
    // Accepted and ignored: they tune placement, notification or accounting only.
    {"comment", required_argument, nullptr, kOptIgnored},
    {"contiguous", no_argument, nullptr, kOptIgnored},
    {"delay-boot", required_argument, nullptr, kOptIgnored},
    {"get-user-env", optional_argument, nullptr, kOptIgnored},
    {"hint", required_argument, nullptr, kOptIgnored},
    {"ignore-pbs", no_argument, nullptr, kOptIgnored},
    {"kill-on-invalid-dep", required_argument, nullptr, kOptIgnored},
    {"mail-type", required_argument, nullptr, kOptIgnored},
    {"mail-user", required_argument, nullptr, kOptIgnored},
    {"mem-bind", required_argument, nullptr, kOptIgnored},
    {"mincpus", required_argument, nullptr, kOptIgnored},
    {"priority", required_argument, nullptr, kOptIgnored},
    {"profile", required_argument, nullptr, kOptIgnored},
    {"propagate", optional_argument, nullptr, kOptIgnored},
    {"spread-job", no_argument, nullptr, kOptIgnored},
    {"tmp", required_argument, nullptr, kOptIgnored},
    {"use-min-nodes", no_argument, nullptr, kOptIgnored},
    {"wckey", required_argument, nullptr, kOptIgnored},
    {"cpu-freq", required_argument, nullptr, kOptIgnored},
    {"gpu-bind", required_argument, nullptr, kOptIgnored},
    {"gpu-freq", required_argument, nullptr, kOptIgnored},
    {"threads-per-core", required_argument, nullptr, kOptIgnored},
    {"cores-per-socket", required_argument, nullptr, kOptIgnored},
    {"sockets-per-node", required_argument, nullptr, kOptIgnored},
    {"extra-node-info", required_argument, nullptr, 'B'},
    {"network", required_argument, nullptr, kOptIgnored},
    {"switches", required_argument, nullptr, kOptIgnored},
    {"time-min", required_argument, nullptr, kOptIgnored},
    // Refused: the job would silently not get what the option asks for.
    {"cpus-per-gpu", required_argument, nullptr, kOptUnsupported},
    {"deadline", required_argument, nullptr, kOptUnsupported},
    {"export-file", required_argument, nullptr, kOptUnsupported},
    {"gid", required_argument, nullptr, kOptUnsupported},
    {"gpus-per-socket", required_argument, nullptr, kOptUnsupported},
    {"mem-per-gpu", required_argument, nullptr, kOptUnsupported},
    {"ntasks-per-core", required_argument, nullptr, kOptUnsupported},
    {"ntasks-per-gpu", required_argument, nullptr, kOptUnsupported},
    {"ntasks-per-socket", required_argument, nullptr, kOptUnsupported},
    {"signal", required_argument, nullptr, kOptUnsupported},
    {"thread-spec", required_argument, nullptr, kOptUnsupported},
    {"uid", required_argument, nullptr, kOptUnsupported},
    {"batch", required_argument, nullptr, kOptUnsupported},
    {"container", required_argument, nullptr, kOptUnsupported},
    {nullptr, 0, nullptr, 0},
};

CliError Error(std::string_view message, int exit_code) {
  return CliError{"sbatch: error: " + std::string(message) + "\n", exit_code};
}

std::string LongNameOf(int id) {
  for (const option* o = kLongOpts; o->name != nullptr; ++o) {
    if (o->val == id) return o->name;
  }
  return std::string(1, static_cast<char>(id));
}

// A positive count for -n / -c / --ntasks-per-node.
std::optional<CliError> ParsePositive(const ParsedOption& opt, uint32_t* out) {
  auto n = ParseUint(opt.arg);
  if (!n || *n == 0 || *n > INT32_MAX) {
    return Error("Invalid numeric value \"" + opt.arg + "\" for --" + LongNameOf(opt.id) + ".", 1);
  }
  *out = static_cast<uint32_t>(*n);
  return std::nullopt;
}

// "[type:]N" for --gpus and --gpus-per-node.
bool ParseGpuCount(std::string_view text, std::string* type, uint32_t* count) {
  size_t colon = text.rfind(':');
  std::string_view num = colon == std::string_view::npos ? text : text.substr(colon + 1);
  auto n = ParseUint(num);
  if (!n || *n > kMaxGpusPerNode) return false;
  if (colon != std::string_view::npos) {
    std::string_view t = text.substr(0, colon);
    if (t.starts_with("gpu:")) t.remove_prefix(4);  // --gpus=gpu:a100:2 is tolerated
    if (t.empty() || t.find(':') != std::string_view::npos) return false;
    *type = std::string(t);
  }
  *count = static_cast<uint32_t>(*n);
  return true;
}

// --gres=gpu[:type][:N][,...]; GPUs are the only generic resource shoal schedules.
bool ParseGres(std::string_view text, std::string* type, uint32_t* count) {
  if (text == "none" || text.empty()) {
    *count = 0;
    type->clear();
    return true;
  }
  bool seen = false;
  for (const std::string& item : Split(text, ',')) {
    std::string_view g = item;
    if (g.starts_with("gres/")) g.remove_prefix(5);
    std::vector<std::string> parts = Split(g, ':');
    if (parts[0] != "gpu" || parts.size() > 3 || seen) return false;
    seen = true;
    *count = 1;
    type->clear();
    if (parts.size() == 2) {
      if (auto n = ParseUint(parts[1])) {
        if (*n > kMaxGpusPerNode) return false;
        *count = static_cast<uint32_t>(*n);
      } else {
        *type = parts[1];
      }
    } else if (parts.size() == 3) {
      auto n = ParseUint(parts[2]);
      if (!n || *n > kMaxGpusPerNode || parts[1].empty()) return false;
      *type = parts[1];
      *count = static_cast<uint32_t>(*n);
    }
    if (!type->empty() && ParseUint(*type)) return false;
  }
  return true;
}

// -N "N" or "N-M".
std::optional<CliError> ParseNodes(const std::string& text, SbatchOptions* o) {
  auto bad = [&] { return Error("\"" + text + "\" is not a valid node count", 255); };
  size_t dash = text.find('-');
  auto lo = ParseUint(text.substr(0, dash));
  if (!lo || *lo > INT32_MAX) return bad();
  uint64_t hi = *lo;
  if (dash != std::string::npos) {
    auto h = ParseUint(text.substr(dash + 1));
    if (!h || *h > INT32_MAX) return bad();
    hi = *h;
  }
  if (hi < *lo) {
    return Error("Maximum node count " + std::to_string(hi) + " is less than minimum node count " +
                     std::to_string(*lo),
                 255);
  }
  if (*lo == 0 && o->submit_error.empty()) o->submit_error = "Node count specification invalid";
  o->submit.req.min_nodes = static_cast<uint32_t>(std::max<uint64_t>(*lo, 1));
  o->submit.req.max_nodes = static_cast<uint32_t>(std::max<uint64_t>(hi, 1));
  o->nodes_set = true;
  return std::nullopt;
}

// One dependency job reference: "12" or "12_3".
bool ParseDependencyTarget(std::string_view text, Dependency* d) {
  size_t us = text.find('_');
  auto id = ParseUint(text.substr(0, us));
  if (!id || *id == 0) return false;
  d->job_id = *id;
  if (us != std::string_view::npos) {
    std::string_view task = text.substr(us + 1);
    if (task == "*") return true;
    auto t = ParseUint(task);
    if (!t) return false;
    d->array_task = static_cast<int64_t>(*t);
  }
  return true;
}

// after|afterany|afterok|afternotok:ID[:ID...] or singleton, joined by ',' (all) or '?' (any).
bool ParseDependency(std::string_view text, DependencySpec* spec) {
  spec->clauses.clear();
  spec->any = text.find('?') != std::string_view::npos;
  if (spec->any && text.find(',') != std::string_view::npos) return false;
  spec->text = std::string(text);
  for (const std::string& clause : Split(text, spec->any ? '?' : ',')) {
    if (clause == "singleton") {
      Dependency d;
      d.kind = Dependency::Kind::kSingleton;
      spec->clauses.push_back(d);
      continue;
    }
    std::vector<std::string> parts = Split(clause, ':');
    Dependency d;
    if (parts[0] == "after") {
      d.kind = Dependency::Kind::kAfter;
    } else if (parts[0] == "afterany") {
      d.kind = Dependency::Kind::kAfterAny;
    } else if (parts[0] == "afterok") {
      d.kind = Dependency::Kind::kAfterOk;
    } else if (parts[0] == "afternotok") {
      d.kind = Dependency::Kind::kAfterNotOk;
    } else {
      return false;  // aftercorr, afterburstbuffer, expand: not supported
    }
    if (parts.size() < 2) return false;
    for (size_t i = 1; i < parts.size(); ++i) {
      // "+minutes" delays are not supported: refusing beats starting the job early.
      if (!ParseDependencyTarget(parts[i], &d)) return false;
      spec->clauses.push_back(d);
    }
  }
  return !spec->clauses.empty();
}

// Splits a directive's option text into words: whitespace separates, quotes group, and an
// unquoted '#' starting a word begins a comment.
std::vector<std::string> SplitDirectiveWords(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] == '#') break;
    std::string word;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      char c = text[i];
      if (c == '"' || c == '\'') {
        size_t close = text.find(c, i + 1);
        if (close == std::string_view::npos) close = text.size();
        word.append(text.substr(i + 1, close - i - 1));
        i = close + 1;
        continue;
      }
      word.push_back(c);
      ++i;
    }
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace

std::variant<SbatchCommandLine, CliError> ParseSbatchCommandLine(
    const std::vector<std::string>& args) {
  GetoptResult r = RunGetopt(kProg, args, kShortOpts, kLongOpts);
  if (!r.ok) return CliError{TryHelpLine(kProg), 255};
  return SbatchCommandLine{std::move(r.options), std::move(r.operands)};
}

std::variant<std::vector<ParsedOption>, CliError> ParseSbatchDirectives(std::string_view script) {
  std::vector<ParsedOption> options;
  size_t pos = 0;
  while (pos < script.size()) {
    size_t end = script.find('\n', pos);
    if (end == std::string_view::npos) end = script.size();
    std::string_view line = script.substr(pos, end - pos);
    pos = end + 1;
    if (Trim(line).empty()) continue;
    if (line[0] != '#') break;  // the first command ends the directives
    if (!line.starts_with("#SBATCH")) continue;
    std::string_view rest = line.substr(7);
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t') continue;  // "#SBATCHX"
    std::vector<std::string> words = SplitDirectiveWords(rest);
    if (words.empty()) continue;
    words.insert(words.begin(), kProg);
    GetoptResult r = RunGetopt(kProg, words, kShortOpts, kLongOpts);
    if (!r.ok) return CliError{TryHelpLine(kProg), 255};
    if (!r.operands.empty()) {
      return Error("Invalid directive in batch script: " + r.operands.front(), 1);
    }
    for (ParsedOption& o : r.options) options.push_back(std::move(o));
  }
  return options;
}

std::vector<ParsedOption> SbatchEnvOptions(const std::vector<std::string>& env) {
  struct EnvOpt {
    const char* name;
    int id;
    bool has_arg;
  };
  static constexpr EnvOpt kEnvOpts[] = {
      {"SBATCH_ACCOUNT", 'A', true},
      {"SBATCH_ARRAY_INX", 'a', true},
      {"SBATCH_CONSTRAINT", 'C', true},
      {"SBATCH_DEBUG", 'v', false},
      {"SBATCH_ERROR", 'e', true},
      {"SBATCH_EXCLUSIVE", kOptExclusive, true},
      {"SBATCH_EXPORT", kOptExport, true},
      {"SBATCH_GPUS", 'G', true},
      {"SBATCH_GPUS_PER_NODE", kOptGpusPerNode, true},
      {"SBATCH_GRES", kOptGres, true},
      {"SBATCH_INPUT", 'i', true},
      {"SBATCH_JOB_NAME", 'J', true},
      {"SBATCH_MEM_PER_CPU", kOptMemPerCpu, true},
      {"SBATCH_MEM_PER_NODE", kOptMem, true},
      {"SBATCH_NO_REQUEUE", kOptNoRequeue, false},
      {"SBATCH_OPEN_MODE", kOptOpenMode, true},
      {"SBATCH_OUTPUT", 'o', true},
      {"SBATCH_PARTITION", 'p', true},
      {"SBATCH_QOS", 'q', true},
      {"SBATCH_REQUEUE", kOptRequeue, false},
      {"SBATCH_TIMELIMIT", 't', true},
      {"SBATCH_WAIT", 'W', false},
  };
  std::vector<ParsedOption> options;
  for (const EnvOpt& e : kEnvOpts) {
    size_t n = strlen(e.name);
    for (const std::string& kv : env) {
      if (kv.size() > n && kv.compare(0, n, e.name) == 0 && kv[n] == '=') {
        ParsedOption o;
        o.id = e.id;
        if (e.has_arg) {
          o.arg = kv.substr(n + 1);
          o.has_arg = true;
        }
        options.push_back(std::move(o));
        break;
      }
    }
  }
  return options;
}

std::optional<CliError> ApplySbatchOption(const ParsedOption& opt, OptionSource source,
                                          SbatchOptions* o) {
  JobRequest& req = o->submit.req;
  const std::string& arg = opt.arg;
  switch (opt.id) {
    case 'a': {
      Result<ArraySpec> spec = ParseArraySpec(arg, kArraySizeCeiling);
      if (!spec.ok()) {
        if (o->submit_error.empty()) o->submit_error = "Invalid job array specification";
        break;
      }
      req.array_spec = arg;
      req.array_max_running = spec->max_running;
      break;
    }
    case 'A':
      req.account = arg;
      break;
    case 'q':
      req.qos = arg;  // checked by the controller ("Invalid qos specification")
      break;
    case kOptReservation:
      req.reservation = arg;  // checked by the controller ("Requested reservation is invalid")
      break;
    case 'b': {
      Result<int64_t> t = ParseTimePoint(arg, o->now);
      if (!t.ok()) {
        return CliError{"Invalid time specification (pos=0): " + arg +
                            "\nsbatch: error: Invalid --begin specification\n",
                        255};
      }
      req.begin_time = *t;
      break;
    }
    case 'c':
      return ParsePositive(opt, &req.cpus_per_task);
    case 'C':
      req.constraint = arg;
      break;
    case 'd':
      if (!ParseDependency(arg, &req.dependency)) {
        req.dependency = DependencySpec{};
        if (o->submit_error.empty()) o->submit_error = "Job dependency problem";
      }
      break;
    case 'D':
      o->chdir = arg;
      break;
    case 'e':
      req.stderr_pattern = arg;
      break;
    case 'G':
      o->gpus_total = arg;
      break;
    case 'h':
      o->help = true;
      break;
    case 'H':
      o->submit.hold = true;
      break;
    case 'i':
      break;  // stdin of batch jobs is always /dev/null here
    case 'J':
      req.name = arg;
      break;
    case 'n':
      o->ntasks_set = true;
      return ParsePositive(opt, &req.ntasks);
    case 'N':
      return ParseNodes(arg, o);
    case 'o':
      req.stdout_pattern = arg;
      break;
    case 'p':
      req.partition = arg;
      break;
    case 'Q':
      o->quiet = true;
      break;
    case 't': {
      Result<int64_t> t = ParseTimeLimit(arg);
      // Rounding up to minutes must not overflow ("0:9223372036854775807").
      if (!t.ok() || *t > std::numeric_limits<int64_t>::max() - 59) {
        return Error("Invalid --time specification", 255);
      }
      // Slurm keeps limits in whole minutes, rounding seconds up.
      req.time_limit_s = *t == kUnlimited ? kUnlimited : (*t + 59) / 60 * 60;
      break;
    }
    case 'v':
      ++o->verbose;
      break;
    case 'V':
      o->version = true;
      break;
    case 'w':
    case 'x': {
      Result<std::vector<std::string>> names = ExpandHostlist(arg);
      if (!names.ok()) {
        if (o->submit_error.empty()) o->submit_error = "Invalid node name specified";
        break;
      }
      (opt.id == 'w' ? req.required_nodes : req.excluded_nodes) = *names;
      break;
    }
    case 'W':
      o->wait = true;
      break;
    case kOptExclusive:
      req.exclusive = true;  // =user and =mcs are served as whole-node exclusivity
      break;
    case kOptExport:
      o->export_spec = arg;
      break;
    case kOptGpusPerNode:
      if (!ParseGpuCount(arg, &req.gpu_type, &req.gpus_per_node)) {
        return Error("Invalid generic resource (gres) specification", 1);
      }
      o->gpus_total.clear();
      o->gpus_per_task.clear();
      break;
    case kOptGpusPerTask:
      o->gpus_per_task = arg;
      o->gpus_total.clear();
      break;
    case kOptGres:
      if (!ParseGres(arg, &req.gpu_type, &req.gpus_per_node)) {
        return Error("Invalid generic resource (gres) specification", 1);
      }
      break;
    case kOptHelp:
      o->help = true;
      break;
    case kOptMem: {
      Result<uint64_t> mb = ParseMemoryMB(arg);
      if (!mb.ok()) return Error("Invalid --mem specification", 255);
      req.mem_per_node_mb = *mb;
      o->mem_source = source;
      break;
    }
    case kOptMemPerCpu: {
      Result<uint64_t> mb = ParseMemoryMB(arg);
      if (!mb.ok()) return Error("Invalid --mem-per-cpu specification", 255);
      req.mem_per_cpu_mb = *mb;
      o->mem_per_cpu_source = source;
      break;
    }
    case kOptNice: {
      // Like Slurm (atoi): a bare --nice means 100, junk means 0.
      int64_t nice = 100;
      if (opt.has_arg) nice = ParseInt(arg).value_or(0);
      if (nice > 2147483645 || nice < -2147483645) {
        return Error("Invalid --nice value", 255);
      }
      req.nice = static_cast<int32_t>(nice);
      break;
    }
    case kOptNoRequeue:
      req.requeue = false;
      o->requeue_set = true;
      break;
    case kOptNtasksPerNode:
      return ParsePositive(opt, &req.ntasks_per_node);
    case kOptOpenMode: {
      std::string m = ToLower(arg);
      if (m.starts_with("a")) {
        req.open_append = true;
      } else if (m.starts_with("t")) {
        req.open_append = false;
      } else {
        return Error("Invalid --open-mode specification", 255);
      }
      break;
    }
    case kOptParsable:
      o->parsable = true;
      break;
    case kOptRequeue:
      req.requeue = true;
      o->requeue_set = true;
      break;
    case kOptUsage:
      o->usage = true;
      break;
    case kOptWrap:
      o->has_wrap = true;
      o->wrap = arg;
      break;
    case kOptWebhook:
      // Checked here too (the controller checks again) so a typo fails before anything is sent.
      if (Status s = ValidateWebhookUrl(arg); !s.ok()) return Error(s.message(), 1);
      req.webhook = arg;
      break;
    case kOptContainerImage:
      req.container.image = arg;  // normalized against the working directory at the end
      break;
    case kOptContainerMounts:
      req.container.mounts = Split(arg, ',');
      break;
    case kOptContainerWorkdir:
      req.container.workdir = arg;
      break;
    case kOptContainerName:
      req.container.name = arg;
      break;
    case kOptContainerEnv:
      req.container.env = Split(arg, ',');
      break;
    case kOptContainerRemapRoot:
    case kOptNoContainerRemapRoot:
      req.container.remap_root = opt.id == kOptContainerRemapRoot;
      break;
    case kOptContainerMountHome:
    case kOptNoContainerMountHome:
      req.container.mount_home = opt.id == kOptContainerMountHome;
      break;
    case kOptContainerWritable:
    case kOptContainerReadonly:
      req.container.writable = opt.id == kOptContainerWritable;
      break;
    case kOptContainerEntrypoint:
    case kOptNoContainerEntrypoint:
      req.container.entrypoint = opt.id == kOptContainerEntrypoint;
      break;
    case kOptIgnored:
    case 'B':
    case 'F':
    case 'k':
    case 'L':
    case 'm':
    case 'M':
    case 'O':
    case 's':
    case 'S':
      break;
    case kOptUnsupported:
    default:
      return Error("--" + (opt.long_name.empty() ? LongNameOf(opt.id) : opt.long_name) +
                       " is not supported by shoal",
                   1);
  }
  return std::nullopt;
}

std::optional<CliError> ApplySbatchLongOption(std::string_view long_name, const std::string& arg,
                                              SbatchOptions* o) {
  for (const option* opt = kLongOpts; opt->name != nullptr; ++opt) {
    if (long_name != opt->name) continue;
    ParsedOption parsed{opt->val, arg, opt->has_arg != no_argument, std::string(long_name)};
    return ApplySbatchOption(parsed, OptionSource::kCommandLine, o);
  }
  return Error("--" + std::string(long_name) + " is not supported by shoal", 1);
}

std::optional<CliError> CheckBatchScript(std::string_view script) {
  if (script.empty()) return Error("Batch script is empty!", 1);
  if (Trim(script).empty()) return Error("Batch script contains only whitespace!", 1);
  if (!script.starts_with("#!")) {
    return CliError{
        "sbatch: error: This does not look like a batch script.  The first\n"
        "sbatch: error: line must start with #! followed by the path to an interpreter.\n"
        "sbatch: error: For instance: #!/bin/sh\n",
        1};
  }
  if (script.find("\r\n") != std::string_view::npos) {
    return CliError{
        "sbatch: error: Batch script contains DOS line breaks (\\r\\n)\n"
        "sbatch: error: instead of expected UNIX line breaks (\\n).\n",
        1};
  }
  return std::nullopt;
}

std::string WrapScript(std::string_view command) {
  return "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n" + std::string(command) + "\n";
}

namespace {

std::string ResolvePath(const std::string& cwd, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  std::string base = cwd;
  if (!base.empty() && base.back() != '/') base += '/';
  std::string_view p = path;
  while (p.starts_with("./")) p.remove_prefix(2);
  return base + std::string(p);
}

std::string EnvName(const std::string& kv) { return kv.substr(0, kv.find('=')); }

// The job's environment per --export: ALL, NONE, or a list of NAME / NAME=value, optionally
// led by ALL. SLURM_* variables always travel, as in Slurm.
std::vector<std::string> ExportEnvironment(const std::string& spec,
                                           const std::vector<std::string>& environ) {
  std::vector<std::string> items = Split(spec, ',');
  bool all = false;
  std::vector<std::string> names, assignments;
  for (const std::string& raw : items) {
    std::string item(Trim(raw));
    if (item.empty()) continue;
    if (EqualsIgnoreCase(item, "ALL")) {
      all = true;
    } else if (EqualsIgnoreCase(item, "NONE") || EqualsIgnoreCase(item, "NIL")) {
      // nothing from the user's environment
    } else if (item.find('=') != std::string::npos) {
      assignments.push_back(item);
    } else {
      names.push_back(item);
    }
  }
  std::vector<std::string> env;
  std::set<std::string> overridden;
  for (const std::string& a : assignments) overridden.insert(EnvName(a));
  for (const std::string& kv : environ) {
    std::string name = EnvName(kv);
    if (overridden.count(name) != 0) continue;
    bool wanted = all || name.starts_with("SLURM_") ||
                  std::find(names.begin(), names.end(), name) != names.end();
    if (wanted) env.push_back(kv);
  }
  for (const std::string& a : assignments) env.push_back(a);
  return env;
}

// The key of the first string in `j` that is not UTF-8, "" when there is none.
std::string NonUtf8Key(const Json& j, const std::string& key) {
  if (j.is_string()) return IsUtf8(j.get_ref<const std::string&>()) ? "" : key;
  if (!j.is_structured()) return "";
  for (const auto& item : j.items()) {
    std::string found = NonUtf8Key(item.value(), j.is_object() ? item.key() : key);
    if (!found.empty()) return found;
  }
  return "";
}

// The request travels to the controller as JSON, which carries only UTF-8 text: any other byte
// would be replaced (a different script) or stop the encoder, so it is refused, saying where.
std::optional<CliError> CheckUtf8(const SubmitRequest& s) {
  if (!IsUtf8(s.script)) return Error("Batch script is not UTF-8 text", 1);
  for (size_t i = 0; i < s.args.size(); ++i) {
    if (!IsUtf8(s.args[i])) {
      return Error("Script argument " + std::to_string(i + 1) + " is not UTF-8 text", 1);
    }
  }
  for (const std::string& kv : s.env) {
    if (!IsUtf8(kv)) {
      return Error("Environment variable " + EnvName(kv) +
                       " is not UTF-8 text (unset it, or leave it out with --export)",
                   1);
    }
  }
  std::string key = NonUtf8Key(JobRequestToJson(s.req), "");
  if (!key.empty()) return Error("The value of the job's " + key + " is not UTF-8 text", 1);
  return std::nullopt;
}

}  // namespace

std::optional<CliError> FinishContainerSpec(const std::string& cwd, ContainerSpec* c) {
  if (!c->image.empty()) {
    Result<std::string> image = NormalizeContainerImage(c->image, cwd);
    if (!image.ok()) return Error(image.status().message(), 1);
    c->image = std::move(image).value();
  }
  for (std::string& m : c->mounts) {
    Result<std::string> mount = NormalizeContainerMount(m, cwd);
    if (!mount.ok()) return Error(mount.status().message(), 1);
    m = std::move(mount).value();
  }
  if (Status s = ValidateContainerSpec(*c); !s.ok()) return Error(s.message(), 1);
  return std::nullopt;
}

std::optional<CliError> FinishSbatchRequest(const SubmitContext& ctx, SbatchOptions* o) {
  JobRequest& req = o->submit.req;
  if (o->mem_source != OptionSource::kNone && o->mem_source == o->mem_per_cpu_source) {
    return CliError{
        "sbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.\n", 1};
  }
  // A value from a lower source gives way to the other one from a higher source.
  if (o->mem_source > o->mem_per_cpu_source) {
    req.mem_per_cpu_mb = 0;
  } else if (o->mem_per_cpu_source > o->mem_source) {
    req.mem_per_node_mb = 0;
  }

  req.user = ctx.user.name;
  req.uid = ctx.user.uid;
  req.gid = ctx.user.gid;
  req.submit_host = ctx.host;
  req.work_dir = o->chdir.empty() ? ctx.cwd : ResolvePath(ctx.cwd, o->chdir);
  if (auto err = FinishContainerSpec(req.work_dir, &req.container)) return err;
  if (o->has_wrap) {
    req.command = "(wrap)";
  } else if (!ctx.script_path.empty()) {
    req.command = ResolvePath(ctx.cwd, ctx.script_path);
  }
  if (req.name.empty()) {
    if (o->has_wrap) {
      req.name = "wrap";
    } else if (!ctx.script_path.empty()) {
      size_t slash = ctx.script_path.rfind('/');
      req.name = slash == std::string::npos ? ctx.script_path : ctx.script_path.substr(slash + 1);
    } else {
      req.name = "sbatch";
    }
  }

  // Counts Slurm derives from each other.
  if (o->ntasks_set && req.ntasks_per_node > 0 && !o->nodes_set) {
    req.min_nodes = (req.ntasks + req.ntasks_per_node - 1) / req.ntasks_per_node;
  }
  if (!o->ntasks_set) {
    if (req.ntasks_per_node > 0) {
      if (uint64_t{req.ntasks_per_node} * req.min_nodes > INT32_MAX) {
        return Error("Invalid numeric value: --ntasks-per-node times --nodes is too large", 1);
      }
      req.ntasks = req.ntasks_per_node * req.min_nodes;
    } else if (o->nodes_set) {
      req.ntasks = req.min_nodes;
    }
  }
  if (!o->gpus_total.empty()) {
    uint32_t total = 0;
    std::string type;
    if (!ParseGpuCount(o->gpus_total, &type, &total) || total % req.min_nodes != 0) {
      return Error("Invalid generic resource (gres) specification", 1);
    }
    req.gpus_per_node = total / req.min_nodes;
    req.gpu_type = type;
  }
  if (!o->gpus_per_task.empty()) {
    uint32_t per_task = 0;
    std::string type;
    if (!ParseGpuCount(o->gpus_per_task, &type, &per_task) || per_task == 0) {
      return Error("Invalid generic resource (gres) specification", 1);
    }
    // Every node of a shoal job runs the same number of tasks, so GPUs per task become GPUs
    // per node once that number is known: given, or the tasks divided evenly over -N nodes.
    uint32_t tasks_per_node = req.ntasks_per_node;
    if (tasks_per_node == 0) {
      if ((req.ntasks > 1 && !o->nodes_set) || req.ntasks % req.min_nodes != 0) {
        return Error(
            "--gpus-per-task with several tasks needs --ntasks-per-node, or --nodes dividing "
            "--ntasks evenly",
            1);
      }
      tasks_per_node = req.ntasks / req.min_nodes;
    }
    if (uint64_t{tasks_per_node} * per_task > kMaxGpusPerNode) {
      return Error("Invalid generic resource (gres) specification", 1);
    }
    req.gpus_per_node = tasks_per_node * per_task;
    req.gpu_type = type;
  }

  o->submit.requeue_unset = !o->requeue_set;
  o->submit.script = o->has_wrap ? WrapScript(o->wrap) : ctx.script;
  if (!o->has_wrap) o->submit.args = ctx.args;
  o->submit.env = ExportEnvironment(o->export_spec, ctx.environ);
  if (auto err = CheckUtf8(o->submit)) return err;
  if (!o->submit_error.empty()) {
    return Error("Batch job submission failed: " + o->submit_error, 1);
  }
  return std::nullopt;
}

std::variant<SbatchOptions, CliError> BuildSbatchRequest(const SbatchCommandLine& cmdline,
                                                         const SubmitContext& ctx, int64_t now) {
  auto probed = ProbeSbatchCommandLine(cmdline, now);
  if (auto* err = std::get_if<CliError>(&probed)) return *err;
  const SbatchOptions& probe = std::get<SbatchOptions>(probed);
  if (probe.help || probe.usage || probe.version) return probe;
  if (probe.has_wrap && !cmdline.operands.empty()) {
    return Error("Script arguments not permitted with --wrap option", 1);
  }
  SbatchOptions o;
  o.now = now;
  if (!probe.has_wrap) {
    if (auto err = CheckBatchScript(ctx.script)) return *err;
    auto directives = ParseSbatchDirectives(ctx.script);
    if (auto* err = std::get_if<CliError>(&directives)) return *err;
    for (const ParsedOption& opt : std::get<std::vector<ParsedOption>>(directives)) {
      if (auto err = ApplySbatchOption(opt, OptionSource::kScript, &o)) return *err;
    }
  }
  for (const ParsedOption& opt : SbatchEnvOptions(ctx.environ)) {
    if (auto err = ApplySbatchOption(opt, OptionSource::kEnv, &o)) return *err;
  }
  for (const ParsedOption& opt : cmdline.options) {
    if (auto err = ApplySbatchOption(opt, OptionSource::kCommandLine, &o)) return *err;
  }
  if (auto err = FinishSbatchRequest(ctx, &o)) return *err;
  return o;
}

std::variant<SbatchOptions, CliError> ProbeSbatchCommandLine(const SbatchCommandLine& cmdline,
                                                             int64_t now) {
  // Read first only to learn --wrap, --help and the like; BuildSbatchRequest applies the
  // command line again after the script and the environment so that it wins.
  SbatchOptions probe;
  probe.now = now;
  for (const ParsedOption& opt : cmdline.options) {
    if (auto err = ApplySbatchOption(opt, OptionSource::kCommandLine, &probe)) return *err;
  }
  return probe;
}

std::string SbatchUsageText() {
  return "Usage: sbatch [-N nnodes] [-n ntasks]\n"
         "              [-c ncpus] [-p partition] [--hold] [--parsable] [-t minutes]\n"
         "              [-D path] [--output file] [--error file] [--open-mode=append|truncate]\n"
         "              [--chdir=directory] [-J jobname] [--verbose] [-C list]\n"
         "              [--account=name] [--dependency=type:jobid] [--nice[=value]] [--wait]\n"
         "              [--requeue] [--no-requeue] [--ntasks-per-node=n]\n"
         "              [--nodelist=hosts] [--exclude=hosts] [--mem=MB] [--mem-per-cpu=MB]\n"
         "              [--gres=list] [--gpus=n] [--gpus-per-node=n] [--exclusive]\n"
         "              [--array=index_values] [--begin=time] [--export[=names]]\n"
         "              executable [args...]\n";
}

std::string SbatchHelpText() {
  return "Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]\n"
         "\n"
         "Parallel run options:\n"
         "  -a, --array=indexes         job array index values\n"
         "  -A, --account=name          charge job to specified account\n"
         "      --begin=time            defer job until HH:MM MM/DD/YY\n"
         "  -c, --cpus-per-task=ncpus   number of cpus required per task\n"
         "  -d, --dependency=type:jobid[:time] defer job until condition on jobid is satisfied\n"
         "  -D, --chdir=directory       set working directory for batch script\n"
         "  -e, --error=err             file for batch script's standard error\n"
         "      --export[=names]        specify environment variables to export\n"
         "  -H, --hold                  submit job in held state\n"
         "  -J, --job-name=jobname      name of job\n"
         "  -n, --ntasks=ntasks         number of tasks to run\n"
         "      --nice[=value]          decrease scheduling priority by value\n"
         "      --no-requeue            if set, do not permit the job to be requeued\n"
         "      --ntasks-per-node=n     number of tasks to invoke on each node\n"
         "  -N, --nodes=N               number of nodes on which to run (N = min[-max])\n"
         "      --open-mode={append|truncate} output file open mode\n"
         "  -o, --output=out            file for batch script's standard output\n"
         "  -p, --partition=partition   partition requested\n"
         "      --parsable              outputs only the jobid and cluster name (if present),\n"
         "                              separated by semicolon, only on successful submission.\n"
         "  -Q, --quiet                 quiet mode (suppress informational messages)\n"
         "      --requeue               if set, permit the job to be requeued\n"
         "  -t, --time=minutes          time limit\n"
         "  -v, --verbose               verbose mode (multiple -v's increase verbosity)\n"
         "  -W, --wait                  wait for completion of submitted job\n"
         "      --webhook=URL           POST the job's state changes to URL (shoal's own)\n"
         "      --wrap[=command string] wrap command string in a sh script and submit\n"
         "\n"
         "Constraint options:\n"
         "  -C, --constraint=list       specify a list of constraints\n"
         "      --mem=MB                minimum amount of real memory\n"
         "      --mem-per-cpu=MB        maximum amount of real memory per allocated\n"
         "                              cpu required by the job.\n"
         "                              --mem >= --mem-per-cpu if --mem is specified.\n"
         "  -w, --nodelist=hosts...     request a specific list of hosts\n"
         "  -x, --exclude=hosts...      exclude a specific list of hosts\n"
         "\n"
         "Consumable resources related options:\n"
         "      --exclusive             allocate nodes in exclusive mode\n"
         "\n"
         "GPU scheduling options:\n"
         "  -G, --gpus=n                count of GPUs required for the job\n"
         "      --gpus-per-node=n       number of GPUs required per allocated node\n"
         "      --gres=list             required generic resources\n"
         "\n"
         "Container options (NVIDIA pyxis's spelling; docs/containers.md):\n"
         "      --container-image=IMAGE run in a rootless podman container of IMAGE: a name\n"
         "                              in podman's storage, docker://, REGISTRY#IMAGE, or\n"
         "                              an image archive path (never pulled)\n"
         "      --container-mounts=SRC[:DST[:FLAGS]][,...]\n"
         "                              bind mounts; FLAGS \"+\"-joined, e.g. ro+rprivate\n"
         "      --container-workdir=PATH working directory inside the container\n"
         "      --container-name=NAME   name of the container\n"
         "      --container-env=VAR,... keep the job's value of these variables inside\n"
         "      --[no-]container-remap-root   be root inside (default: yourself)\n"
         "      --[no-]container-mount-home   mount your home directory (default: no)\n"
         "      --container-writable, --container-readonly   (default: writable)\n"
         "      --[no-]container-entrypoint   run the image's entrypoint (default: no)\n"
         "\n"
         "Help options:\n"
         "  -h, --help                  show this help message\n"
         "      --usage                 display brief usage message\n"
         "\n"
         "Other options:\n"
         "  -V, --version               output version information and exit\n"
         "\n";
}

}  // namespace shoal
