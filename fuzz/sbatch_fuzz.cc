// sbatch's option handling: argv, SBATCH_* variables and the script's #SBATCH lines merge into
// a request or a Slurm error, never a crash; an accepted request is consistent and encodes as
// the JSON sbatch posts.
//
// Input: one line per argument ("SBATCH_NAME=value" lines go to the environment instead) up to
// the first line starting with "#!"; the script is that line and the rest.
#include <string>
#include <vector>

#include "api/json_model.h"
#include "cli/sbatch_options.h"
#include "common/slurm_time.h"
#include "fuzz_check.h"

using namespace shoal;

namespace {
constexpr int64_t kNow = 1773500966;  // fixed, so --begin is reproducible
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("TZ", "UTC", 1);
  tzset();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = AsText(data, size);
  if (Huge(text)) return -1;  // -w/-x lists near the limit: slow, and no new code
  std::vector<std::string> args = {"sbatch"};
  SubmitContext ctx;
  ctx.user = {"alice", 1000, 1000};
  ctx.cwd = "/home/alice";
  ctx.host = "login1";
  ctx.environ = {"PATH=/usr/bin:/bin", "HOME=/home/alice", "SLURM_CONF=/etc/slurm.conf"};
  while (!text.empty() && !text.starts_with("#!")) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.starts_with("SBATCH_") && line.find('=') != std::string_view::npos) {
      ctx.environ.emplace_back(line);
    } else {
      args.emplace_back(line);
    }
  }
  ctx.script = std::string(text);

  auto cmdline = ParseSbatchCommandLine(args);
  if (std::holds_alternative<CliError>(cmdline)) return 0;
  const SbatchCommandLine& cl = std::get<SbatchCommandLine>(cmdline);
  if (!cl.operands.empty()) {
    ctx.script_path = cl.operands.front();
    ctx.args.assign(cl.operands.begin() + 1, cl.operands.end());
  }
  auto built = BuildSbatchRequest(cl, ctx, kNow);
  if (auto* err = std::get_if<CliError>(&built)) {
    FUZZ_CHECK(!err->text.empty() && err->text.back() == '\n', "error text: " + err->text);
    FUZZ_CHECK(err->exit_code != 0, "an error exiting 0");
    return 0;
  }
  const SbatchOptions& o = std::get<SbatchOptions>(built);
  if (o.help || o.usage || o.version) return 0;
  const JobRequest& req = o.submit.req;
  FUZZ_CHECK(req.min_nodes >= 1, "no nodes");
  FUZZ_CHECK(req.max_nodes == 0 || req.max_nodes >= req.min_nodes, "max_nodes < min_nodes");
  FUZZ_CHECK(req.ntasks >= 1 && req.cpus_per_task >= 1, "no tasks or cpus");
  FUZZ_CHECK(req.time_limit_s == kUnlimited || req.time_limit_s >= 0, "negative time limit");
  FUZZ_CHECK(o.submit.script.starts_with("#!"), "script without #!");
  // What sbatch posts to the controller.
  const std::string body = SubmitRequestToJson(o.submit).dump();
  auto back = SubmitRequestFromJson(Json::parse(body));
  FUZZ_CHECK(back.ok(), "the posted request does not decode: " + back.status().message());
  return 0;
}
