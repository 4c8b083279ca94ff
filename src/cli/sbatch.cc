// sbatch: submits a batch script (file, stdin or --wrap) to the controller.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/sbatch_options.h"

extern char** environ;

namespace shoal {
namespace {

bool ReadWholeFile(const std::string& path, std::string* out) {
  FILE* f = path == "-" ? stdin : fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  bool ok = !ferror(f);
  if (f != stdin) fclose(f);
  return ok;
}

// --wait: polls until every job of the submission has finished; the exit code is the highest
// exit code among them (Slurm's rule for arrays too).
int WaitForJob(const ApiClient& client, JobId id) {
  int delay_ms = 200;
  for (;;) {
    Result<Json> r = client.Get("/api/v1/jobs?ids=" + std::to_string(id));
    if (!r.ok()) r = client.Get("/api/v1/accounting/jobs?ids=" + std::to_string(id));
    if (r.ok() && r->contains("jobs") && (*r)["jobs"].is_array()) {
      bool done = !(*r)["jobs"].empty();
      int worst = 0;
      for (const Json& j : (*r)["jobs"]) {
        Result<Job> job = JobFromJson(j);
        if (!job.ok()) continue;
        if (!IsFinished(job->state)) {
          done = false;
          break;
        }
        int code = job->exit_signal != 0 ? 128 + job->exit_signal : job->exit_code;
        if (job->state != JobState::kCompleted && code == 0) code = 1;
        worst = std::max(worst, code);
      }
      if (done) return worst;
    }
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    delay_ms = std::min(delay_ms * 2, 2000);
  }
}

}  // namespace

int SbatchMain(int argc, char** argv) {
  std::vector<std::string> args = ArgsOf(argc, argv);
  auto parsed = ParseSbatchCommandLine(args);
  if (auto* err = std::get_if<CliError>(&parsed)) return ReportError(*err);
  const SbatchCommandLine& cmdline = std::get<SbatchCommandLine>(parsed);

  const int64_t now = NowEpoch();
  auto probed = ProbeSbatchCommandLine(cmdline, now);
  if (auto* err = std::get_if<CliError>(&probed)) return ReportError(*err);
  const SbatchOptions& probe = std::get<SbatchOptions>(probed);
  if (probe.help) {
    fputs(SbatchHelpText().c_str(), stdout);
    return 0;
  }
  if (probe.usage) {
    fputs(SbatchUsageText().c_str(), stdout);
    return 0;
  }
  if (probe.version) {
    fputs(kVersionLine, stdout);
    return 0;
  }

  SubmitContext ctx;
  ctx.user = CurrentUser();
  ctx.cwd = CurrentDir();
  ctx.host = HostName();
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) ctx.environ.emplace_back(*e);
  if (!probe.has_wrap) {
    if (cmdline.operands.size() > 1) {
      ctx.args.assign(cmdline.operands.begin() + 1, cmdline.operands.end());
    }
    if (!cmdline.operands.empty()) {
      ctx.script_path = cmdline.operands.front();
      if (!ReadWholeFile(ctx.script_path, &ctx.script)) {
        return ReportError({"sbatch: error: Unable to open file " + ctx.script_path + "\n", 1});
      }
    } else {
      ReadWholeFile("-", &ctx.script);
    }
  }

  auto built = BuildSbatchRequest(cmdline, ctx, now);
  if (auto* err = std::get_if<CliError>(&built)) return ReportError(*err);
  const SbatchOptions& o = std::get<SbatchOptions>(built);

  ApiClient client = ApiClient::FromEnvironment();
  Result<Json> answer = client.Post("/api/v1/jobs", SubmitRequestToJson(o.submit));
  if (!answer.ok()) {
    const std::string msg = answer.status().message();
    std::string text;
    if (msg == "Invalid partition name specified" && !o.submit.req.partition.empty()) {
      text += "sbatch: error: invalid partition specified: " + o.submit.req.partition + "\n";
    }
    // A first line naming Slurm's reason code is printed as an error line of its own.
    std::string detail = msg;
    if (size_t nl = msg.find('\n'); nl != std::string::npos) {
      text += "sbatch: error: " + msg.substr(0, nl) + "\n";
      detail = msg.substr(nl + 1);
    }
    text += "sbatch: error: Batch job submission failed: " + detail + "\n";
    return ReportError({text, 1});
  }
  JobId id = 0;
  if (answer->contains("job_id") && (*answer)["job_id"].is_number_unsigned()) {
    id = (*answer)["job_id"].get<JobId>();
  }
  if (o.parsable) {
    printf("%llu\n", static_cast<unsigned long long>(id));
  } else if (!o.quiet) {
    printf("Submitted batch job %llu\n", static_cast<unsigned long long>(id));
  }
  if (o.wait) {
    fflush(stdout);
    return WaitForJob(client, id);
  }
  return 0;
}

}  // namespace shoal
