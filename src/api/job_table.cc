#include "api/job_table.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "api/json_model.h"
#include "api/json_table.h"
#include "api/table_values.h"
#include "common/prefault.h"

namespace shoal {
namespace {

using Encoder = void (*)(const Job&, std::string*);
using Decoder = bool (*)(JsonCell&, Job*);  // false: the value has the wrong type or range
using Resetter = void (*)(Job*);            // back to the default of a new Job

struct Column {
  const char* name;
  Encoder encode;
  Decoder decode;
  Resetter reset;
};

// What a field is in a Job nobody has set anything in.
const Job& DefaultJob() {
  static const Job kDefault;
  return kDefault;
}

using table_values::AppendValue;
using table_values::ReadValue;

void AppendValue(const DependencySpec& d, std::string* out) {
  out->append(DependencyToJson(d).dump(-1, ' ', false, Json::error_handler_t::replace));
}
void AppendValue(const ContainerSpec& c, std::string* out) {
  out->append(ContainerSpecToJson(c).dump(-1, ' ', false, Json::error_handler_t::replace));
}
void AppendValue(JobState s, std::string* out) { AppendJsonString(JobStateName(s), out); }

bool ReadValue(JsonCell& c, std::vector<std::vector<uint32_t>>& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kNested || !c.nested->is_array()) return false;
  out.clear();
  for (const Json& per_node : *c.nested) {
    if (!per_node.is_array()) return false;
    std::vector<uint32_t> idx;
    for (const Json& e : per_node) {
      if (!e.is_number_unsigned() || e.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
        return false;
      }
      idx.push_back(e.get<uint32_t>());
    }
    out.push_back(std::move(idx));
  }
  return true;
}
bool ReadValue(JsonCell& c, DependencySpec& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kNested) return false;
  out = DependencySpec();
  return DependencyFromJson(*c.nested, out).ok();
}
bool ReadValue(JsonCell& c, ContainerSpec& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kNested) return false;
  out = ContainerSpec();
  return ContainerSpecFromJson(*c.nested, out).ok();
}
bool ReadValue(JsonCell& c, JobState& out) {
  if (c.kind == JsonCell::kNull) return true;
  if (c.kind != JsonCell::kString) return false;
  auto parsed = ParseJobState(*c.text);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

template <auto Member>
void EncodeJob(const Job& j, std::string* out) {
  AppendValue(j.*Member, out);
}
template <auto Member>
bool DecodeJob(JsonCell& c, Job* j) {
  return ReadValue(c, j->*Member);
}
template <auto Member>
void ResetJob(Job* j) {
  j->*Member = DefaultJob().*Member;
}
template <auto Member>
void EncodeReq(const Job& j, std::string* out) {
  AppendValue(j.req.*Member, out);
}
template <auto Member>
bool DecodeReq(JsonCell& c, Job* j) {
  return ReadValue(c, j->req.*Member);
}
template <auto Member>
void ResetReq(Job* j) {
  j->req.*Member = DefaultJob().req.*Member;
}

#define SHOAL_JOB_COL(name, member)                                                  \
  Column {                                                                           \
    name, &EncodeJob<&Job::member>, &DecodeJob<&Job::member>, &ResetJob<&Job::member> \
  }
#define SHOAL_REQ_COL(member)                                                  \
  Column {                                                                     \
    "request." #member, &EncodeReq<&JobRequest::member>,                       \
        &DecodeReq<&JobRequest::member>, &ResetReq<&JobRequest::member>        \
  }

const Column kColumns[] = {
    SHOAL_JOB_COL("job_id", id),
    SHOAL_JOB_COL("state", state),
    SHOAL_JOB_COL("reason", reason),
    SHOAL_JOB_COL("held", held),
    SHOAL_JOB_COL("priority", priority),
    SHOAL_JOB_COL("submit_time", submit_time),
    SHOAL_JOB_COL("eligible_time", eligible_time),
    SHOAL_JOB_COL("start_time", start_time),
    SHOAL_JOB_COL("end_time", end_time),
    SHOAL_JOB_COL("array_job_id", array_job_id),
    SHOAL_JOB_COL("array_task_id", array_task_id),
    SHOAL_JOB_COL("nodes", nodes),
    SHOAL_JOB_COL("alloc_cpus", alloc_cpus),
    SHOAL_JOB_COL("cpus_per_node", cpus_per_node),
    SHOAL_JOB_COL("mem_per_node_alloc_mb", mem_per_node_alloc_mb),
    SHOAL_JOB_COL("gpu_indices", gpu_indices),
    SHOAL_JOB_COL("exit_code", exit_code),
    SHOAL_JOB_COL("exit_signal", exit_signal),
    SHOAL_JOB_COL("user_cpu_us", user_cpu_us),
    SHOAL_JOB_COL("system_cpu_us", system_cpu_us),
    SHOAL_JOB_COL("max_rss_kb", max_rss_kb),
    SHOAL_JOB_COL("restart_count", restart_count),
    SHOAL_JOB_COL("generation", generation),
    SHOAL_JOB_COL("terminating", terminating),
    SHOAL_JOB_COL("cancel_requested", cancel_requested),
    SHOAL_JOB_COL("configuring", configuring),
    SHOAL_JOB_COL("preempted_by", preempted_by),
    SHOAL_JOB_COL("last_modified", last_modified),
    SHOAL_JOB_COL("planned_start", planned_start),
    SHOAL_JOB_COL("planned_nodes", planned_nodes),
    SHOAL_REQ_COL(name),
    SHOAL_REQ_COL(user),
    SHOAL_REQ_COL(uid),
    SHOAL_REQ_COL(gid),
    SHOAL_REQ_COL(account),
    SHOAL_REQ_COL(qos),
    SHOAL_REQ_COL(partition),
    SHOAL_REQ_COL(work_dir),
    SHOAL_REQ_COL(stdout_pattern),
    SHOAL_REQ_COL(stderr_pattern),
    SHOAL_REQ_COL(submit_host),
    SHOAL_REQ_COL(command),
    SHOAL_REQ_COL(min_nodes),
    SHOAL_REQ_COL(max_nodes),
    SHOAL_REQ_COL(ntasks),
    SHOAL_REQ_COL(ntasks_per_node),
    SHOAL_REQ_COL(cpus_per_task),
    SHOAL_REQ_COL(mem_per_node_mb),
    SHOAL_REQ_COL(mem_per_cpu_mb),
    SHOAL_REQ_COL(gpus_per_node),
    SHOAL_REQ_COL(gpu_type),
    SHOAL_REQ_COL(time_limit_s),
    SHOAL_REQ_COL(begin_time),
    SHOAL_REQ_COL(exclusive),
    SHOAL_REQ_COL(requeue),
    SHOAL_REQ_COL(nice),
    SHOAL_REQ_COL(constraint),
    SHOAL_REQ_COL(required_nodes),
    SHOAL_REQ_COL(excluded_nodes),
    SHOAL_REQ_COL(dependency),
    SHOAL_REQ_COL(array_spec),
    SHOAL_REQ_COL(array_max_running),
    SHOAL_REQ_COL(open_append),
    SHOAL_REQ_COL(interactive),
    SHOAL_REQ_COL(webhook),
    SHOAL_REQ_COL(reservation),
    SHOAL_REQ_COL(container),
};

#undef SHOAL_JOB_COL
#undef SHOAL_REQ_COL

constexpr int kNumColumns = static_cast<int>(sizeof(kColumns) / sizeof(kColumns[0]));

int FindColumn(std::string_view name) {
  for (int k = 0; k < kNumColumns; ++k) {
    if (name == kColumns[k].name) return k;
  }
  return -1;
}

// Decodes the table's cells into jobs: each row into a new Job of `jobs`, or, without `jobs`,
// into one reused Job handed to `visit` once its row is complete. Aligned so that sinks of
// runs read at once (ReadJobTableInRuns) share no cache line.
class alignas(64) JobTableSink : public JsonTableSink {
 public:
  explicit JobTableSink(std::vector<Job>* jobs) : jobs_(jobs) {}
  explicit JobTableSink(std::function<void(const Job&)> visit)
      : visit_(std::move(visit)), job_(&scratch_) {}

  Status Columns(const std::vector<std::string>& names) override {
    for (const std::string& name : names) {
      int col = FindColumn(name);
      if (col < 0) return InvalidArgument("job table holds unknown job field '" + name + "'");
      columns_.push_back(col);
    }
    return Status::Ok();
  }
  void BeginRow() override {
    if (jobs_ != nullptr) {
      job_ = &jobs_->emplace_back();
    } else if (rows_ > 0) {
      visit_(scratch_);  // the previous row, now complete
    }
    ++rows_;
  }
  // The last row, which no BeginRow follows.
  void EndRows() override {
    if (visit_ && rows_ > 0) visit_(scratch_);
  }
  bool Cell(size_t column, JsonCell& cell) override {
    const Column& c = kColumns[columns_[column]];
    // A reused job still holds an earlier row's value, which a null must not keep.
    if (cell.kind == JsonCell::kNull) c.reset(job_);
    return c.decode(cell, job_);
  }
  size_t rows() const { return rows_; }

 private:
  std::vector<Job>* jobs_ = nullptr;
  std::function<void(const Job&)> visit_;
  Job scratch_;
  Job* job_ = nullptr;
  std::vector<int> columns_;
  size_t rows_ = 0;
};

}  // namespace

const std::vector<std::string>& AllJobColumns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Column& c : kColumns) out.push_back(c.name);
    return out;
  }();
  return names;
}

Result<std::vector<int>> ResolveJobColumns(const std::vector<std::string>& names) {
  std::vector<int> out;
  out.reserve(names.size());
  for (const std::string& n : names) {
    int col = FindColumn(n);
    if (col < 0) return InvalidArgument("unknown job field '" + n + "'");
    out.push_back(col);
  }
  return out;
}

JobTableWriter::JobTableWriter(std::vector<int> columns) : columns_(std::move(columns)) {
  out_ = "{\"columns\":[";
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    AppendJsonString(kColumns[columns_[k]].name, &out_);
  }
  out_ += "],\"rows\":[";
  head_size_ = out_.size();
}

void JobTableWriter::Add(const Job& job) {
  if (!first_row_) out_.push_back(',');
  const size_t row_begin = out_.size();
  // Each row on a line of its own: a reader can share the rows out among threads at line
  // ends (ReadJobTableInRuns), as a line feed is never inside a JSON token.
  out_.push_back('\n');
  out_.push_back('[');
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    kColumns[columns_[k]].encode(job, &out_);
  }
  out_.push_back(']');
  if (first_row_ && expected_rows_ > 1) {
    // Rows of one listing are of similar length; a quarter more leaves room for longer ones
    // (memory reserved but never written costs nothing).
    const size_t row_bytes = out_.size() - row_begin + 1;
    out_.reserve(out_.size() + (expected_rows_ - 1) * row_bytes * 5 / 4 + 16);
  }
  first_row_ = false;
}

void JobTableWriter::Append(JobTableWriter&& later) {
  if (later.first_row_) return;  // no rows
  const size_t more = 1 + later.out_.size() - later.head_size_;
  out_.reserve(out_.size() + more);
  PrefaultForWrite(out_.data() + out_.size(), more);
  if (!first_row_) out_.push_back(',');
  out_.append(later.out_, later.head_size_);
  first_row_ = false;
  later.out_.clear();
}

std::string JobTableWriter::Finish() {
  out_ += "]}";
  return std::move(out_);
}

std::string JobDocument(const Job& job) {
  constexpr std::string_view kRequest = "request.";
  std::string out;
  out.reserve(1024);
  out.push_back('{');
  bool first = true;
  for (const Column& c : kColumns) {
    std::string_view name = c.name;
    if (name.starts_with(kRequest)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(name, &out);
    out.push_back(':');
    c.encode(job, &out);
  }
  out.append(",\"request\":{");
  first = true;
  for (const Column& c : kColumns) {
    std::string_view name = c.name;
    if (!name.starts_with(kRequest)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(name.substr(kRequest.size()), &out);
    out.push_back(':');
    c.encode(job, &out);
  }
  out.append("}}");
  return out;
}

Result<std::vector<Job>> DecodeJobTable(std::string_view text) {
  // Growing a vector of 100,000 large Jobs moves them over and over; "],[" separates rows
  // (and, rarely, nested arrays), so counting it is a cheap, close upper bound.
  size_t rows = 1;
  for (size_t at = text.find("],["); at != std::string_view::npos; at = text.find("],[", at + 3)) {
    ++rows;
  }
  std::vector<Job> jobs;
  jobs.reserve(rows);
  if (rows > 1000) PrefaultForWrite(jobs.data(), rows * sizeof(Job));
  JobTableSink sink(&jobs);
  Status s = ReadJsonTable(text, "job table", &sink);
  if (!s.ok()) return s;
  return jobs;
}

Result<size_t> ReadJobTable(std::string_view text, const std::function<void(const Job&)>& visit) {
  JobTableSink sink(visit);
  Status s = ReadJsonTable(text, "job table", &sink);
  if (!s.ok()) return s;
  return sink.rows();
}

Result<JobTableRuns> ReadJobTableInRuns(std::string_view text, size_t threads,
                                        const std::function<void(size_t, const Job&)>& visit) {
  // Below this a thread costs about what it saves.
  constexpr size_t kBytesPerRun = size_t{1} << 20;
  threads = std::clamp<size_t>(std::min(threads, text.size() / kBytesPerRun), 1, 64);
  std::vector<std::unique_ptr<JobTableSink>> sinks;
  std::vector<JsonTableSink*> plain;
  for (size_t k = 0; k < threads; ++k) {
    sinks.push_back(std::make_unique<JobTableSink>([&visit, k](const Job& job) { visit(k, job); }));
    plain.push_back(sinks.back().get());
  }
  Result<size_t> runs = ReadJsonTableInRuns(text, "job table", plain);
  if (!runs.ok()) return runs.status();
  JobTableRuns out{*runs, 0};
  for (size_t k = 0; k < out.runs; ++k) out.rows += sinks[k]->rows();
  return out;
}

}  // namespace shoal
