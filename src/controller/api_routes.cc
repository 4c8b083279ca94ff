#include "controller/api_routes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "api/job_table.h"
#include "api/node_table.h"
#include "common/strings.h"
#include "core/priority.h"

namespace shoal {
namespace {

HttpResponse Reply(int status, const Json& body) { return {status, body.dump()}; }

Json StepsJson(const std::vector<Step>& steps);

HttpResponse Error(const Status& s) {
  int code = 500;
  switch (s.code()) {
    case StatusCode::kInvalidArgument: code = 400; break;
    case StatusCode::kNotFound: code = 404; break;
    case StatusCode::kAlreadyExists: code = 409; break;
    case StatusCode::kFailedPrecondition: code = 409; break;
    case StatusCode::kPermissionDenied: code = 403; break;
    case StatusCode::kUnavailable: code = 503; break;
    case StatusCode::kUnauthenticated:
      code = 401;
      break;
    case StatusCode::kResourceExhausted:
      code = 429;
      break;
    default: break;
  }
  return Reply(code, ErrorToJson(s));
}

std::vector<std::string> ListParam(const HttpRequest& r, const char* key) {
  auto it = r.query.find(key);
  if (it == r.query.end() || it->second.empty()) return {};
  std::vector<std::string> out;
  for (auto& part : Split(it->second, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

Result<std::vector<JobState>> StatesParam(const std::vector<std::string>& names) {
  std::vector<JobState> out;
  for (const auto& n : names) {
    auto s = ParseJobState(n);
    if (!s) return InvalidArgument("Invalid job state specified: " + n);
    out.push_back(*s);
  }
  return out;
}

// The body as a JSON object; when `known` is given, a field outside it is refused, so that a
// misspelt field is an error rather than silently ignored.
Result<Json> ParseBody(const HttpRequest& r, std::initializer_list<std::string_view> known = {}) {
  if (r.body.empty()) return Json::object();
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("request body must be a JSON object");
  if (known.size() != 0) {
    for (const auto& [key, value] : j.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string names;
        for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
        return InvalidArgument("unknown field '" + key + "' (known: " + names + ")");
      }
    }
  }
  return j;
}

HttpResponse JobsCollection(Controller& c, const HttpRequest& r, const Caller& caller) {
  JobFilter f;
  f.ids = ListParam(r, "ids");
  f.users = ListParam(r, "users");
  f.partitions = ListParam(r, "partitions");
  f.names = ListParam(r, "names");
  auto states = StatesParam(ListParam(r, "states"));
  if (!states.ok()) return Error(states.status());
  f.states = *states;
  // With fields=, a compact table of just those fields, written under the lock without a
  // DOM or a copy per job: squeue over 100,000 jobs depends on it.
  if (r.query.count("fields") != 0) {
    auto columns = ResolveJobColumns(ListParam(r, "fields"));
    if (!columns.ok()) return Error(columns.status());
    // A long listing is written by two threads at once, each into a table of its own; the
    // asker waits for the whole of it, so the second core would otherwise be idle.
    // Each on cache lines of its own: a line two writers shared would bounce between cores.
    struct alignas(64) Run {
      JobTableWriter table;
    };
    constexpr size_t kWriters = 2;
    std::vector<Run> runs(kWriters, Run{JobTableWriter(*columns)});
    c.ForEachJobInRuns(
        f, kWriters,
        [&](size_t run, const Job& job) {
          if (MaySeeJob(caller, job.req.uid, c.config().private_jobs)) runs[run].table.Add(job);
        },
        [&](size_t used, size_t jobs_per_run) {
          // The first table takes in the others: room for all of their rows.
          runs[0].table.ExpectRows(jobs_per_run * used);
          for (size_t k = 1; k < used; ++k) runs[k].table.ExpectRows(jobs_per_run);
        });
    for (size_t k = 1; k < kWriters; ++k) runs[0].table.Append(std::move(runs[k].table));
    return {200, runs[0].table.Finish()};
  }
  // Full documents, written straight into the answer (no DOM per job).
  std::string body = "{\"jobs\":[";
  bool first = true;
  c.ForEachJob(f, [&](const Job& job) {
    if (!MaySeeJob(caller, job.req.uid, c.config().private_jobs)) return;
    if (!first) body.push_back(',');
    first = false;
    body += JobDocument(job);
  });
  body += "]}";
  return {200, std::move(body)};
}

HttpResponse SubmitJob(Controller& c, const HttpRequest& r, const Caller& caller) {
  auto body = ParseBody(r, {"script", "env", "args", "hold", "job"});
  if (!body.ok()) return Error(body.status());
  auto req = SubmitRequestFromJson(*body);
  if (!req.ok()) return Error(req.status());
  // The caller (the kernel's word, or a token's) is who the job runs as; root may submit for
  // anyone (the request's uid).
  if (caller.uid != 0) {
    req->req.uid = caller.uid;
    req->req.gid = caller.gid;
    if (!caller.user.empty()) req->req.user = caller.user;
  } else if (req->req.user.empty() && req->req.uid == 0) {
    req->req.user = caller.user;  // e.g. the dashboard's form, which names no user
  }
  auto id = c.Submit(std::move(req).value(), NowSeconds());
  if (!id.ok()) return Error(id.status());
  return Reply(201, {{"job_id", *id}});
}

HttpResponse CancelJobs(Controller& c, const HttpRequest& r, const Caller& caller) {
  auto body = ParseBody(r, {"ids", "user", "name", "states", "partition", "account", "qos",
                            "reservation", "signal", "batch_only"});
  if (!body.ok()) return Error(body.status());
  const Json& b = *body;
  CancelFilter f;
  try {
    if (b.contains("ids")) f.ids = b["ids"].get<std::vector<std::string>>();
    f.user = b.value("user", "");
    f.name = b.value("name", "");
    f.partition = b.value("partition", "");
    f.account = b.value("account", "");
    f.qos = b.value("qos", "");
    f.reservation = b.value("reservation", "");
    f.signal = b.value("signal", 0);
    f.batch_only = b.value("batch_only", false);
    if (b.contains("states")) {
      auto states = StatesParam(b["states"].get<std::vector<std::string>>());
      if (!states.ok()) return Error(states.status());
      f.states = *states;
    }
  } catch (const Json::exception& e) {
    return Error(InvalidArgument(std::string("bad cancel request: ") + e.what()));
  }
  if (f.signal < 0 || f.signal > 64) return Error(InvalidArgument("Invalid signal"));
  f.requester_uid = JobRequesterUid(caller);
  CancelResult result = c.Cancel(f);
  Json errors = Json::array();
  for (const auto& [id, msg] : result.errors) errors.push_back({{"id", id}, {"message", msg}});
  return Reply(200, {{"cancelled", result.done}, {"errors", std::move(errors)}});
}

// sprio: weights plus one row per eligible pending job, as a compact table.
HttpResponse Priorities(Controller& c, const HttpRequest& r, const Caller& caller) {
  if (c.config().priority_type != "priority/multifactor") {
    return Error(FailedPrecondition("You are not running a supported priority plugin\n(" +
                                    c.config().priority_type +
                                    ").\nOnly 'priority/multifactor' is supported."));
  }
  JobFilter f;
  for (const auto& id : ListParam(r, "ids")) {
    auto n = ParseUint(id);
    if (!n) return Error(InvalidArgument("Invalid job id specified: " + id));
    f.ids.push_back(std::to_string(*n));
  }
  f.users = ListParam(r, "users");
  f.partitions = ListParam(r, "partitions");
  const PriorityWeights& w = c.config().weights;
  const bool only_own = c.config().private_jobs && !IsOperator(caller);  // PrivateData=jobs
  const Controller::PriorityListing listing = c.ListPriorityTable(f);
  Json head = {{"weights",
                {{"age", w.age},
                 {"assoc", w.assoc},
                 {"fairshare", w.fairshare},
                 {"job_size", w.job_size},
                 {"partition", w.partition},
                 {"qos", w.qos}}},
               {"columns",
                {"job_id", "user", "partition", "priority", "age", "assoc", "fairshare",
                 "job_size", "partition_factor", "qos", "nice"}}};
  // The rows are written straight into the text: with 100,000 pending jobs a DOM of them cost
  // more than computing them.
  std::string body = head.dump();
  body.pop_back();  // the closing brace
  body.reserve(body.size() + listing.rows.size() * 120 + 16);
  body += ",\"rows\":[";
  // Each name is escaped once, not once per row.
  auto quoted = [](const std::vector<std::string>& names) {
    std::vector<std::string> out(names.size());
    for (size_t i = 0; i < names.size(); ++i) AppendJsonString(names[i], &out[i]);
    return out;
  };
  const std::vector<std::string> users = quoted(listing.users);
  const std::vector<std::string> partitions = quoted(listing.partitions);
  std::vector<uint8_t> user_shown(listing.users.size(), 1);
  if (only_own) {
    for (size_t i = 0; i < listing.users.size(); ++i) {
      user_shown[i] = listing.users[i] == caller.user;
    }
  }
  // std::to_chars writes a double's shortest exact form, as the JSON writer does, and costs a
  // fraction of a format string per value.
  char buf[32];
  auto put = [&](auto value) {
    body.push_back(',');
    body.append(buf, std::to_chars(buf, buf + sizeof(buf), value).ptr);
  };
  // Neighbouring rows mostly repeat a factor (same age within a second, same fair share per
  // user): each factor column keeps its last value's text and formats only a new one.
  struct LastFactor {
    double value = -1;  // factors are never negative: nothing matches before the first
    char text[32];
    size_t size = 0;
  };
  LastFactor last[6];
  auto put_factor = [&](LastFactor& memo, double value) {
    body.push_back(',');
    if (value != memo.value || std::signbit(value) != std::signbit(memo.value)) {
      memo.size = static_cast<size_t>(
          std::to_chars(memo.text, memo.text + sizeof(memo.text), value).ptr - memo.text);
      memo.value = value;
    }
    body.append(memo.text, memo.size);
  };
  bool first = true;
  for (const Controller::PriorityListing::Row& p : listing.rows) {
    if (!user_shown[p.user]) continue;
    body += first ? "[" : ",[";
    first = false;
    body.append(buf, std::to_chars(buf, buf + sizeof(buf), p.id).ptr);
    body += ',';
    body += users[p.user];
    body += ',';
    body += partitions[p.partition];
    put(p.priority);
    put_factor(last[0], p.factors.age);
    put_factor(last[1], p.factors.assoc);
    put_factor(last[2], p.factors.fairshare);
    put_factor(last[3], p.factors.job_size);
    put_factor(last[4], p.factors.partition);
    put_factor(last[5], p.factors.qos);
    put(p.factors.nice);
    body += ']';
  }
  body += "]}";
  return {200, std::move(body)};
}

HttpResponse Accounting(Controller& c, const HttpRequest& r, const Caller& caller) {
  JobQuery q;
  for (const auto& id : ListParam(r, "ids")) {
    auto n = ParseUint(id.substr(0, id.find('_')));
    if (!n) return Error(InvalidArgument("Invalid job id specified: " + id));
    q.ids.push_back(*n);
  }
  q.users = ListParam(r, "users");
  q.partitions = ListParam(r, "partitions");
  for (const auto& s : ListParam(r, "states")) {
    auto st = ParseJobState(s);
    if (!st) return Error(InvalidArgument("Invalid job state specified: " + s));
    q.states.push_back(JobStateName(*st));
  }
  for (auto [key, field] : {std::pair{"start", &q.start}, std::pair{"end", &q.end}}) {
    if (auto it = r.query.find(key); it != r.query.end() && !it->second.empty()) {
      auto n = ParseInt(it->second);
      if (!n) return Error(InvalidArgument(std::string("bad ") + key + " time"));
      *field = *n;
    }
  }
  // PrivateData=jobs: below operator, only the caller's own records (by name, which the store
  // indexes; an anonymous caller has none).
  if (c.config().private_jobs && !IsOperator(caller)) {
    const bool asks_for_others =
        !q.users.empty() && std::find(q.users.begin(), q.users.end(), caller.user) == q.users.end();
    if (asks_for_others || caller.user.empty()) return Reply(200, {{"jobs", Json::array()}});
    q.users = {caller.user};
  }
  // The stored documents are already the answer's encoding: passing them on unparsed saves
  // most of the time of a long history (decoding and re-encoding cost 150 us a job).
  auto records = c.QueryAccountingRecords(q);
  if (!records.ok()) return Error(records.status());
  // Every byte of the jobs' part (the head, a line and ",\n" per document, "\n]"), so a long
  // history is never copied into a larger buffer half way.
  size_t size = 64;
  for (const JobRecord& rec : *records) size += rec.doc.size() + 2;
  std::string body;
  body.reserve(size);
  // The count first, so a client can size its list; then a document per line (a compact one
  // holds no newline), so a client can split the list and decode it on several cores.
  body += "{\"count\":" + std::to_string(records->size()) + ",\"jobs\":[\n";
  std::vector<JobId> ids;
  ids.reserve(records->size());
  for (const JobRecord& rec : *records) {
    if (!ids.empty()) body += ",\n";
    body += rec.doc;
    ids.push_back(rec.id);
  }
  body += "\n]";
  // sacct without -X: the steps of the jobs listed.
  if (auto with = r.query.find("with"); with != r.query.end() && with->second == "steps") {
    std::vector<Step> steps;
    if (!ids.empty()) {
      auto stored = c.QueryStepAccounting(ids);
      if (!stored.ok()) return Error(stored.status());
      steps = std::move(stored).value();
    }
    body += ",\"steps\":";
    body += StepsJson(steps).dump();
  }
  body += '}';
  return {200, std::move(body)};
}

// GET /api/v1/accounting/events?start=S&end=E (sacctmgr show event): the node outages that
// overlap [S, E), by start (end 0: still going on).
HttpResponse NodeEventList(Controller& c, const HttpRequest& r) {
  int64_t window[2] = {0, std::numeric_limits<int64_t>::max()};
  for (int i = 0; i < 2; ++i) {
    const char* key = i == 0 ? "start" : "end";
    auto it = r.query.find(key);
    if (it == r.query.end()) continue;
    auto n = ParseInt(it->second);
    if (!n || *n < 0) return Error(InvalidArgument(std::string("bad ") + key + " time"));
    window[i] = *n;
  }
  auto events = c.NodeEvents(window[0], window[1]);
  if (!events.ok()) return Error(events.status());
  Json list = Json::array();
  for (const NodeEvent& e : *events) {
    list.push_back({{"node", e.node},
                    {"state", e.state},
                    {"reason", e.reason},
                    {"cpus", e.cpus},
                    {"start", e.start},
                    {"end", e.end}});
  }
  return Reply(200, {{"cluster_name", c.config().cluster_name}, {"events", std::move(list)}});
}

// GET /api/v1/accounting/utilization?start=S&end=E (sreport): CPU-seconds each (account, user)
// used in [S, E) from the accounting records, and the cluster's CPUs to set them against.
HttpResponse Utilization(Controller& c, const HttpRequest& r, const Caller& caller) {
  int64_t window[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const char* key = i == 0 ? "start" : "end";
    auto it = r.query.find(key);
    auto n = it == r.query.end() ? std::nullopt : ParseInt(it->second);
    if (!n || *n < 0) return Error(InvalidArgument(std::string("missing or bad ") + key + " time"));
    window[i] = *n;
  }
  const auto [start, end] = window;
  if (end <= start) return Error(InvalidArgument("the end time must come after the start time"));
  JobQuery q;
  q.start = start;
  q.end = end;
  auto jobs = c.QueryAccounting(q);
  if (!jobs.ok()) return Error(jobs.status());
  // A running job's use so far: never past now.
  const int64_t until = std::min(end, NowSeconds());
  std::map<UsageKey, double> used;
  for (const Job& job : *jobs) {
    const double cpu_seconds = UsageBetween(job, start, until, 1.0);
    if (cpu_seconds > 0) used[UsageKeyOf(job.req)] += cpu_seconds;
  }
  uint64_t cpus = 0;
  for (const Node& n : c.ListNodes()) cpus += n.cpus;
  auto events = c.NodeEvents(start, end);
  if (!events.ok()) return Error(events.status());
  const OutageSeconds outage = OutageCpuSeconds(*events, start, until, until);
  // PrivateData=usage: below operator, only the caller's own usage.
  const bool only_own = c.config().private_usage && !IsOperator(caller);
  Json rows = Json::array();
  for (const auto& [key, cpu_seconds] : used) {
    if (only_own && key.user != caller.user) continue;
    rows.push_back({key.account, key.user, cpu_seconds});
  }
  return Reply(200, {{"cluster_name", c.config().cluster_name},
                     {"start", start},
                     {"end", end},
                     {"cpus", cpus},
                     {"down_cpu_seconds", outage.down},
                     {"planned_down_cpu_seconds", outage.planned_down},
                     {"columns", {"account", "user", "cpu_seconds"}},
                     {"rows", std::move(rows)}});
}

Json StepsJson(const std::vector<Step>& steps) {
  Json out = Json::array();
  for (const Step& s : steps) out.push_back(StepToJson(s));
  return out;
}

// sstat: what a running job's batch script and steps use now, each task as its node read it.
HttpResponse JobUsage(Controller& c, const std::string& id, const Caller& caller) {
  // An unknown job and one the caller may not see answer alike.
  auto job = c.GetJob(id);
  if (!job.ok()) return Error(job.status());
  if (!MaySeeJob(caller, job->req.uid, c.config().private_jobs)) {
    return Error(NotFound("Invalid job id specified"));
  }
  auto usage = c.JobUsage(id, std::chrono::seconds(2));
  if (!usage.ok()) return Error(usage.status());
  if (usage->job.state != JobState::kRunning) {
    return Error(FailedPrecondition("No steps running for job " + std::to_string(usage->job.id)));
  }
  Json steps = Json::array();
  for (const StepUsage& s : usage->steps) steps.push_back(StepUsageToJson(s));
  return Reply(200, {{"job_id", usage->job.id},
                     {"state", JobStateName(usage->job.state)},
                     {"steps", std::move(steps)},
                     {"missing_nodes", usage->missing_nodes}});
}

// /jobs/{id}/steps..., /jobs/{id}/complete and /jobs/{id}/env (srun and salloc); nullopt when
// the route is none of these.
std::optional<HttpResponse> StepRoutes(Controller& c, const HttpRequest& r, const Caller& caller,
                                       const std::vector<std::string>& parts) {
  const std::string& m = r.method;
  if (parts.size() < 3 || parts[0] != "jobs") return std::nullopt;
  const std::string& id = parts[1];
  if (parts[2] == "env" && parts.size() == 3 && m == "GET") {
    // A running job's environment is its owner's (salloc's) business.
    if (auto job = c.GetJob(id); job.ok() && !MayChangeJob(caller, job->req.uid)) {
      return Error(AccessDenied());
    }
    auto env = c.AllocationEnvironment(id);
    if (!env.ok()) return Error(env.status());
    return Reply(200, {{"env", *env}});
  }
  if (parts[2] == "complete" && parts.size() == 3 && m == "POST") {
    auto body = ParseBody(r, {"exit_code", "signal"});
    if (!body.ok()) return Error(body.status());
    int32_t code = 0, sig = 0;
    try {
      code = body->value("exit_code", 0);
      sig = body->value("signal", 0);
    } catch (const Json::exception& e) {
      return Error(InvalidArgument(std::string("bad complete request: ") + e.what()));
    }
    Status s = c.CompleteAllocation(id, code, sig, JobRequesterUid(caller));
    if (!s.ok()) return Error(s);
    return Reply(200, Json::object());
  }
  if (parts[2] == "usage" && parts.size() == 3 && m == "GET") return JobUsage(c, id, caller);
  if (parts[2] != "steps") return std::nullopt;
  auto job_id = ParseUint(id);
  if (!job_id && id.find('_') != std::string::npos) {
    // "12_3": an array task's steps, as scancel 12_3.0 names them.
    if (auto job = c.GetJob(id); job.ok() && job->IsArrayTask()) job_id = job->id;
  }
  if (!job_id) return Error(NotFound("Invalid job id specified"));
  // PrivateData=jobs: another user's steps are as hidden as the job itself (those of a job
  // the controller no longer holds stay visible: its owner is not at hand here).
  if (m == "GET" && c.config().private_jobs) {
    if (auto job = c.GetJob(id); job.ok() && !MaySeeJob(caller, job->req.uid, true)) {
      return Error(NotFound("Invalid job id specified"));
    }
  }
  if (parts.size() == 3 && m == "POST") {
    auto body = ParseBody(r);
    if (!body.ok()) return Error(body.status());
    auto req = StepRequestFromJson(*body);
    if (!req.ok()) return Error(req.status());
    auto step = c.CreateStep(id, std::move(req).value(), JobRequesterUid(caller));
    if (!step.ok()) return Error(step.status());
    return Reply(201, StepToJson(*step));
  }
  if (parts.size() == 3 && m == "GET") {
    std::vector<Step> steps = c.ListSteps({*job_id}, false);
    if (steps.empty()) {
      auto stored = c.QueryStepAccounting({*job_id});
      if (stored.ok()) steps = std::move(stored).value();
    }
    return Reply(200, {{"steps", StepsJson(steps)}});
  }
  auto step_id = parts.size() >= 4 ? ParseUint(parts[3]) : std::nullopt;
  if (!step_id || *step_id > UINT32_MAX) return Error(NotFound("Invalid job id specified"));
  if (parts.size() == 4 && m == "GET") {
    auto step = c.GetStep(*job_id, static_cast<uint32_t>(*step_id));
    if (!step.ok()) return Error(step.status());
    return Reply(200, StepToJson(*step));
  }
  if (parts.size() == 5 && parts[4] == "signal" && m == "POST") {
    auto body = ParseBody(r, {"signal"});
    if (!body.ok()) return Error(body.status());
    int sig = 0;
    try {
      sig = body->value("signal", 0);
    } catch (const Json::exception& e) {
      return Error(InvalidArgument(std::string("bad signal request: ") + e.what()));
    }
    if (sig < 0 || sig > 64) return Error(InvalidArgument("Invalid signal"));
    Status s = c.SignalStep(*job_id, static_cast<uint32_t>(*step_id), sig, JobRequesterUid(caller));
    if (!s.ok()) return Error(s);
    return Reply(200, Json::object());
  }
  return std::nullopt;
}

// squeue -s: the steps the controller holds, running ones unless states= says otherwise.
HttpResponse StepsCollection(Controller& c, const HttpRequest& r, const Caller& caller) {
  std::vector<JobId> ids;
  for (const auto& id : ListParam(r, "jobs")) {
    auto n = ParseUint(id);
    if (!n) return Error(InvalidArgument("Invalid job id specified: " + id));
    ids.push_back(*n);
  }
  auto states = StatesParam(ListParam(r, "states"));
  if (!states.ok()) return Error(states.status());
  const bool running_only = states->empty();
  Json out = Json::array();
  // PrivateData=jobs: steps carry their job's user name.
  const bool only_own = c.config().private_jobs && !IsOperator(caller);
  for (const Step& s : c.ListSteps(ids, running_only)) {
    if (only_own && s.user != caller.user) continue;
    if (!running_only && std::find(states->begin(), states->end(), s.state) == states->end()) {
      continue;
    }
    out.push_back(StepToJson(s));
  }
  return Reply(200, {{"steps", std::move(out)}});
}

// POST /api/v1/accounting/changes: one sacctmgr change, answered after it is stored.
HttpResponse ChangeAccounting(Controller& c, const HttpRequest& r, const Caller& caller) {
  auto body = ParseBody(r);
  if (!body.ok()) return Error(body.status());
  bool dry_run = false;
  auto change = AccountingChangeFromJson(*body, &dry_run);
  if (!change.ok()) return Error(change.status());
  auto report = c.ChangeAccounting(*change, caller.uid, dry_run);
  if (!report.ok()) return Error(report.status());
  return Reply(200, {{"items", report->items}, {"dry_run", dry_run}});
}

// Reservation changes: the body is an object of scontrol's keys and values, e.g.
// {"ReservationName": "maint", "StartTime": "now", "Duration": "60", "Nodes": "node1",
// "Users": "root", "Flags": "MAINT"}; {"words": ["Key=Value", ...]} works too.
Result<std::vector<std::string>> ReservationWords(const HttpRequest& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return body.status();
  std::vector<std::string> words;
  for (const auto& [key, value] : body->items()) {
    if (key == "words" && value.is_array()) {
      for (const Json& w : value) {
        if (!w.is_string()) return InvalidArgument("reservation: words must be strings");
        words.push_back(w.get<std::string>());
      }
    } else if (value.is_string()) {
      words.push_back(key + "=" + value.get<std::string>());
    } else if (value.is_number_integer()) {
      words.push_back(key + "=" + value.dump());
    } else {
      return InvalidArgument("reservation: " + key + " must be a string");
    }
  }
  return words;
}

std::optional<HttpResponse> ReservationRoutes(Controller& c, const HttpRequest& r,
                                              const Caller& caller,
                                              const std::vector<std::string>& parts) {
  if (parts[0] != "reservations") return std::nullopt;
  const std::string& m = r.method;
  // Changes are for operators (authz.h); the controller checks the uid again for its other
  // callers. Listing is for everyone.
  if (m != "GET" && !MayChangeCluster(caller)) {
    return Error(PermissionDenied("Access/permission denied: user '" +
                                  (caller.user.empty() ? std::string("anonymous") : caller.user) +
                                  "' may not change reservations (needs root, SlurmUser or "
                                  "AdminLevel Operator)"));
  }
  const std::optional<uint32_t> requester = IsOperator(caller) ? 0u : caller.uid;
  const int64_t now = NowSeconds();
  if (parts.size() == 1 && m == "GET") {
    Json list = Json::array();
    for (const auto& row : c.ListReservations(now)) {
      Json j = ReservationToJson(row.reservation);
      j["cpus"] = row.cpus;
      j["state"] = row.reservation.ActiveAt(now) ? "ACTIVE" : "INACTIVE";
      list.push_back(std::move(j));
    }
    return Reply(200, {{"reservations", std::move(list)}});
  }
  if (parts.size() == 1 && m == "POST") {
    auto words = ReservationWords(r);
    if (!words.ok()) return Error(words.status());
    auto name = c.CreateReservation(*words, requester, now);
    if (!name.ok()) return Error(name.status());
    return Reply(201, {{"name", *name}});
  }
  if (parts.size() == 2 && (m == "PATCH" || m == "DELETE")) {
    Status s;
    if (m == "DELETE") {
      s = c.DeleteReservation(parts[1], requester, now);
    } else {
      auto words = ReservationWords(r);
      if (!words.ok()) return Error(words.status());
      s = c.UpdateReservation(parts[1], *words, requester, now);
    }
    if (!s.ok()) return Error(s);
    return Reply(200, Json::object());
  }
  if (parts.size() == 3 && m == "POST" && (parts[2] == "update" || parts[2] == "delete")) {
    Status s;
    if (parts[2] == "delete") {
      s = c.DeleteReservation(parts[1], requester, now);
    } else {
      auto words = ReservationWords(r);
      if (!words.ok()) return Error(words.status());
      s = c.UpdateReservation(parts[1], *words, requester, now);
    }
    if (!s.ok()) return Error(s);
    return Reply(200, Json::object());
  }
  return Error(NotFound("no such route: " + m + " " + r.path));
}

}  // namespace

HttpResponse HandleApiRequest(Controller& c, const HttpRequest& r, const Caller& caller) {
  const std::string prefix = "/api/v1/";
  if (r.path.rfind(prefix, 0) != 0) return Error(NotFound("no such route: " + r.path));
  std::vector<std::string> parts = Split(r.path.substr(prefix.size()), '/');
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  if (parts.empty()) return Error(NotFound("no such route: " + r.path));
  const std::string& m = r.method;

  if (parts[0] == "health" && m == "GET") {
    Json health = {{"status", "ok"}, {"cluster_name", c.config().cluster_name}};
    // With several controllers: which one answered (the leader; standbys answer 503).
    if (!c.config().controller_name.empty()) {
      health["name"] = c.config().controller_name;
      health["leader"] = true;
    }
    return Reply(200, std::move(health));
  }
  if (auto answer = StepRoutes(c, r, caller, parts)) return std::move(*answer);
  if (auto answer = ReservationRoutes(c, r, caller, parts)) return std::move(*answer);
  if (parts[0] == "shares" && parts.size() == 1 && m == "GET") {
    Json rows = Json::array();
    // PrivateData=usage: a user sees only the rows of their own associations.
    const bool only_own = c.config().private_usage && !IsOperator(caller);
    for (const ShareRow& r : c.ListShares()) {
      if (only_own && r.user != caller.user) continue;
      rows.push_back({r.account, r.user, r.depth, r.raw_shares, r.norm_shares, r.raw_usage,
                      r.effective_usage, r.fairshare});
    }
    return Reply(200, {{"columns",
                        {"account", "user", "depth", "raw_shares", "norm_shares", "raw_usage",
                         "effective_usage", "fairshare"}},
                       {"rows", std::move(rows)}});
  }
  if (parts[0] == "accounting") {
    if (parts.size() == 1 && m == "GET") {
      AccountingDb accounting = c.Accounting();
      if (c.config().private_usage && !IsOperator(caller)) {
        // PrivateData=accounts/users/usage: a user sees their own record and associations.
        std::erase_if(accounting.users, [&](const UserRecord& u) { return u.name != caller.user; });
        std::erase_if(accounting.assocs,
                      [&](const Association& a) { return a.user != caller.user; });
      }
      Json db = AccountingDbToJson(accounting);
      db["cluster_name"] = c.config().cluster_name;
      return Reply(200, db);
    }
    if (parts.size() == 2 && parts[1] == "changes" && m == "POST") {
      return ChangeAccounting(c, r, caller);
    }
  }
  if (parts[0] == "steps" && parts.size() == 1 && m == "GET") {
    return StepsCollection(c, r, caller);
  }
  if (parts[0] == "jobs") {
    if (parts.size() == 1 && m == "GET") return JobsCollection(c, r, caller);
    if (parts.size() == 1 && m == "POST") return SubmitJob(c, r, caller);
    if (parts.size() == 2 && parts[1] == "cancel" && m == "POST") return CancelJobs(c, r, caller);
    if (parts.size() == 2 && m == "GET") {
      auto job = c.GetJob(parts[1]);
      if (!job.ok()) return Error(job.status());
      if (!MaySeeJob(caller, job->req.uid, c.config().private_jobs)) {
        return Error(NotFound("Invalid job id specified"));
      }
      return Reply(200, JobToJson(*job));
    }
    if (parts.size() == 3 && m == "POST") {
      const std::string& id = parts[1];
      const std::string& action = parts[2];
      // Every job of an array has its owner: the one looked up stands for all.
      auto job = c.GetJob(id);
      if (!job.ok()) return Error(job.status());
      if (!MayChangeJob(caller, job->req.uid)) return Error(AccessDenied());
      Status s;
      if (action == "hold" || action == "release") {
        s = c.Hold(id, action == "hold");
      } else if (action == "requeue") {
        s = c.Requeue(id);
      } else if (action == "update") {
        auto body = ParseBody(r, {"time_limit_s", "name", "partition", "nice"});
        if (!body.ok()) return Error(body.status());
        s = c.UpdateJob(id, *body);
      } else {
        return Error(NotFound("no such job action: " + action));
      }
      if (!s.ok()) return Error(s);
      return Reply(200, Json::object());
    }
  }
  if (parts[0] == "nodes") {
    if (parts.size() == 1 && m == "GET") {
      bool with_partitions = false;
      if (auto with = r.query.find("with"); with != r.query.end()) {
        if (with->second != "partitions") {
          return Error(InvalidArgument("unknown value for 'with': " + with->second));
        }
        with_partitions = true;
      }
      // With fields=, a compact table of just those fields, written without a DOM: sinfo over
      // 10,000 nodes depends on it.
      if (r.query.count("fields") != 0) {
        auto columns = ResolveNodeColumns(ListParam(r, "fields"));
        if (!columns.ok()) return Error(columns.status());
        NodeTableWriter table(std::move(columns).value());
        for (const Node& n : c.ListNodes()) table.Add(n);
        std::string partitions;
        if (with_partitions) {
          Json list = Json::array();
          for (const Partition& p : c.ListPartitions()) list.push_back(PartitionToJson(p));
          partitions = ",\"partitions\":" + list.dump(-1, ' ', false, Json::error_handler_t::replace);
        }
        return {200, table.Finish(partitions)};
      }
      Json nodes = Json::array();
      // The GPUs' readings the agents last sent (with their heartbeats), where there are any.
      const auto readings = c.metrics().NodeGpus();
      for (const Node& n : c.ListNodes()) {
        Json node = NodeToJson(n);
        if (auto it = readings.find(n.name); it != readings.end()) {
          Json gpus = Json::array();
          for (const GpuReading& g : it->second) {
            gpus.push_back({{"index", g.index},
                            {"utilization_ratio", g.utilization_ratio},
                            {"memory_used_bytes", g.memory_used_bytes},
                            {"memory_total_bytes", g.memory_total_bytes},
                            {"temperature_celsius", g.temperature_celsius},
                            {"power_watts", g.power_watts}});
          }
          node["gpu_readings"] = std::move(gpus);
        }
        nodes.push_back(std::move(node));
      }
      Json answer = {{"nodes", std::move(nodes)}};
      if (with_partitions) {
        Json partitions = Json::array();
        for (const Partition& p : c.ListPartitions()) partitions.push_back(PartitionToJson(p));
        answer["partitions"] = std::move(partitions);
      }
      return Reply(200, answer);
    }
    if (parts.size() == 3 && (parts[2] == "update" || parts[2] == "delete") && m == "POST" &&
        !MayChangeCluster(caller)) {
      return Error(AccessDenied());
    }
    if (parts.size() == 3 && parts[2] == "update" && m == "POST") {
      auto body = ParseBody(r, {"state", "reason"});
      if (!body.ok()) return Error(body.status());
      if (!(*body).contains("state") || !(*body)["state"].is_string()) {
        return Error(InvalidArgument("node update needs a state"));
      }
      std::string reason = (*body).value("reason", "");
      Status s = c.UpdateNode(parts[1], (*body)["state"].get<std::string>(), reason);
      if (!s.ok()) return Error(s);
      return Reply(200, Json::object());
    }
    // POST /api/v1/nodes/{hostlist}/delete: all the nodes named, or none.
    if (parts.size() == 3 && parts[2] == "delete" && m == "POST") {
      Status s = c.DeleteNodes(parts[1]);
      if (!s.ok()) return Error(s);
      return Reply(200, Json::object());
    }
  }
  if (parts[0] == "partitions" && parts.size() == 1 && m == "GET") {
    Json parts_json = Json::array();
    for (const Partition& p : c.ListPartitions()) parts_json.push_back(PartitionToJson(p));
    return Reply(200, {{"partitions", std::move(parts_json)}});
  }
  if (parts[0] == "config" && m == "GET") return Reply(200, c.ConfigJson());
  if (parts[0] == "priority" && parts.size() == 1 && m == "GET") return Priorities(c, r, caller);
  if (parts[0] == "accounting" && parts.size() == 2 && parts[1] == "jobs" && m == "GET") {
    return Accounting(c, r, caller);
  }
  if (parts[0] == "accounting" && parts.size() == 2 && parts[1] == "utilization" && m == "GET") {
    return Utilization(c, r, caller);
  }
  if (parts[0] == "accounting" && parts.size() == 2 && parts[1] == "events" && m == "GET") {
    return NodeEventList(c, r);
  }
  return Error(NotFound("no such route: " + m + " " + r.path));
}

}  // namespace shoal
