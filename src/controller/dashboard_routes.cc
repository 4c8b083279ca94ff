#include "controller/dashboard_routes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/output_pattern.h"
#include "common/strings.h"
#include "dashboard/assets.h"

namespace shoal {
namespace {

HttpResponse JsonError(int code, const Status& s) { return {code, ErrorToJson(s).dump()}; }

// Only the parameters a route knows: a typo is an error rather than silently ignored.
std::optional<HttpResponse> CheckParams(const HttpRequest& r,
                                        std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : r.query) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return JsonError(400, InvalidArgument("unknown query parameter '" + key + "'"));
    }
  }
  return std::nullopt;
}

std::optional<HttpResponse> OnlyGet(const HttpRequest& r) {
  if (r.method == "GET" || r.method == "HEAD") return std::nullopt;
  return JsonError(405, InvalidArgument("only GET is allowed on " + r.path));
}

constexpr int kMaxTailLines = 10000;
constexpr off_t kMaxTailBytes = 1 << 20;

}  // namespace

std::string JobOutputPath(const Job& job, bool stderr) {
  OutputPatternFields fields;
  fields.job_id = job.id;
  fields.job_name = job.req.name;
  fields.user = job.req.user;
  fields.array_job_id = job.SubmissionId();
  fields.array_task_id = job.array_task_id;
  fields.node_name = job.nodes.empty() ? "" : job.nodes.front();
  std::string pattern = job.req.stdout_pattern;
  if (stderr && !job.req.stderr_pattern.empty()) pattern = job.req.stderr_pattern;
  if (pattern.empty()) pattern = job.IsArrayTask() ? "slurm-%A_%a.out" : "slurm-%j.out";
  return ExpandOutputPattern(pattern, fields, job.req.work_dir);
}

std::optional<HttpResponse> DashboardRoutes::Handle(const HttpRequest& r, const Caller& caller) {
  const std::string& p = r.path;
  if (p == "/" || p == "/index.html" || p == "/dashboard" || p == "/dashboard/") {
    return Asset("index.html", r);
  }
  if (p.rfind("/dashboard/", 0) == 0) return Asset(p.substr(11), r);
  if (p == "/api/v1/events" || p == "/api/v1/events/") {
    if (auto e = OnlyGet(r)) return e;
    if (auto e = CheckParams(r, {})) return e;
    std::shared_ptr<HttpStream> stream = events_.Subscribe();
    if (!stream) {
      return JsonError(503, Unavailable("too many event streams open; try again later"));
    }
    HttpResponse resp;
    resp.content_type = "text/event-stream";
    resp.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    resp.stream = std::move(stream);
    return resp;
  }
  if (p == "/api/v1/events/timeline") {
    if (auto e = OnlyGet(r)) return e;
    if (auto e = CheckParams(r, {})) return e;
    return HttpResponse{200, events_.Timeline()};
  }
  if (p == "/api/v1/stats/history") {
    if (auto e = OnlyGet(r)) return e;
    if (auto e = CheckParams(r, {"since"})) return e;
    double since = 0;
    if (auto it = r.query.find("since"); it != r.query.end()) {
      auto n = ParseInt(it->second);
      if (!n)
        return JsonError(400,
                         InvalidArgument("since must be Unix seconds, not '" + it->second + "'"));
      since = static_cast<double>(*n);
    }
    return HttpResponse{200, events_.History(since)};
  }
  // /api/v1/jobs/{id}/output
  const std::string jobs = "/api/v1/jobs/";
  if (p.rfind(jobs, 0) == 0 && p.size() > jobs.size() + 7 && p.ends_with("/output")) {
    std::string id = p.substr(jobs.size(), p.size() - jobs.size() - 7);
    if (id.find('/') != std::string::npos) return std::nullopt;
    if (auto e = OnlyGet(r)) return e;
    return JobOutput(id, r, caller);
  }
  return std::nullopt;
}

HttpResponse DashboardRoutes::Asset(const std::string& name, const HttpRequest& r) {
  if (auto e = OnlyGet(r)) return *e;
  const DashboardAsset* a = FindDashboardAsset(name);
  if (a == nullptr) return JsonError(404, NotFound("no such dashboard file: " + r.path));
  HttpResponse resp;
  resp.content_type = std::string(a->content_type);
  // Revalidated every time (cheap: 304 on a matching ETag), so a new build is seen at once.
  resp.headers = {{"Cache-Control", "no-cache"},
                  {"ETag", std::string(a->etag)},
                  {"X-Content-Type-Options", "nosniff"},
                  {"X-Frame-Options", "DENY"},
                  {"Referrer-Policy", "no-referrer"},
                  {"Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"}};
  if (auto it = r.headers.find("If-None-Match"); it != r.headers.end() && it->second == a->etag) {
    resp.status = 304;
    return resp;
  }
  resp.body = std::string(a->body);
  return resp;
}

HttpResponse DashboardRoutes::JobOutput(const std::string& id, const HttpRequest& r,
                                        const Caller& caller) {
  if (auto e = CheckParams(r, {"tail", "file"})) return *e;
  int tail = 100;
  if (auto it = r.query.find("tail"); it != r.query.end()) {
    auto n = ParseInt(it->second);
    if (!n || *n < 1 || *n > kMaxTailLines) {
      return JsonError(400, InvalidArgument("tail must be a number of lines from 1 to " +
                                            std::to_string(kMaxTailLines)));
    }
    tail = static_cast<int>(*n);
  }
  bool want_stderr = false;
  if (auto it = r.query.find("file"); it != r.query.end()) {
    if (it->second != "stdout" && it->second != "stderr") {
      return JsonError(400, InvalidArgument("file must be 'stdout' or 'stderr'"));
    }
    want_stderr = it->second == "stderr";
  }
  auto job = controller_.GetJob(id);
  if (!job.ok()) return JsonError(404, job.status());
  if (!MayReadJobOutput(caller, job->req.uid, controller_.config().private_jobs)) {
    return JsonError(403, AccessDenied());
  }
  if (job->state == JobState::kPending || job->start_time == 0) {
    return JsonError(409, FailedPrecondition("job " + id + " has not started: no output yet"));
  }
  const std::string path = JobOutputPath(*job, want_stderr);
  Json answer = {
      {"job_id", job->DisplayId()}, {"file", want_stderr ? "stderr" : "stdout"}, {"path", path}};
  auto unavailable = [&](const std::string& why) {
    return JsonError(404, NotFound("the controller cannot read " + path + " (" + why +
                                   "); it may be on the node's local disk"));
  };
  // Only the job's own file: no symlink as its last component, a regular file, owned by the
  // job's user (a root job may own any file), so a pattern aimed at another file reveals
  // nothing.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return unavailable(std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return unavailable("not a regular file");
  }
  if (job->req.uid != 0 && st.st_uid != job->req.uid) {
    close(fd);
    return JsonError(
        403, Status(StatusCode::kPermissionDenied, "the file at " + path + " is not the job's"));
  }
  const off_t start = std::max<off_t>(0, st.st_size - kMaxTailBytes);
  std::string data(static_cast<size_t>(st.st_size - start), '\0');
  ssize_t got = pread(fd, data.data(), data.size(), start);
  close(fd);
  if (got < 0) return unavailable(std::strerror(errno));
  data.resize(static_cast<size_t>(got));
  // The last `tail` lines (a final newline ends a line rather than starting one).
  size_t cut = data.size();
  if (cut > 0 && data[cut - 1] == '\n') --cut;
  int lines = 0;
  size_t begin = 0;
  while (cut > 0) {
    size_t nl = data.rfind('\n', cut - 1);
    if (nl == std::string::npos) break;
    if (++lines == tail) {
      begin = nl + 1;
      break;
    }
    cut = nl;
  }
  answer["size"] = static_cast<int64_t>(st.st_size);
  answer["truncated"] = begin > 0 || start > 0;
  answer["text"] = data.substr(begin);
  return {200, answer.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace shoal
