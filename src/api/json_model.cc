#include "api/json_model.h"

#include <limits>
#include <type_traits>

#include "common/strings.h"

namespace shoal {
namespace {

// Reads optional fields of one JSON object, remembering the first type or range error so
// decoders stay flat: read everything, then check ok().
class FieldReader {
 public:
  FieldReader(const Json& j, std::string context) : j_(j), context_(std::move(context)) {
    if (!j_.is_object()) Fail("", "must be a JSON object");
  }

  template <typename T>
  void Read(const char* key, T& out) {
    if (!status_.ok() || !j_.is_object()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) return Fail(key, "must be true or false");
      out = it->template get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) return Fail(key, "must be an integer");
      if constexpr (std::is_unsigned_v<T>) {
        if (it->is_number_unsigned() || it->template get<int64_t>() >= 0) {
          uint64_t v = it->template get<uint64_t>();
          if (v > std::numeric_limits<T>::max()) return Fail(key, "is out of range");
          out = static_cast<T>(v);
        } else {
          return Fail(key, "must not be negative");
        }
      } else {
        if (it->is_number_unsigned() &&
            it->template get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
          return Fail(key, "is out of range");
        int64_t v = it->template get<int64_t>();
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
          return Fail(key, "is out of range");
        out = static_cast<T>(v);
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) return Fail(key, "must be a string");
      out = it->template get<std::string>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!it->is_array()) return Fail(key, "must be an array of strings");
      out.clear();
      for (const auto& e : *it) {
        if (!e.is_string()) return Fail(key, "must be an array of strings");
        out.push_back(e.template get<std::string>());
      }
    } else {
      static_assert(sizeof(T) == 0, "unsupported field type");
    }
  }

  const Json* Sub(const char* key) {
    if (!status_.ok() || !j_.is_object()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void Fail(std::string_view key, std::string_view why) {
    if (!status_.ok()) return;
    std::string field = context_;
    if (!key.empty()) field += field.empty() ? std::string(key) : "." + std::string(key);
    status_ = InvalidArgument("field '" + field + "' " + std::string(why));
  }
  const Status& status() const { return status_; }

 private:
  const Json& j_;
  std::string context_;
  Status status_;
};

}  // namespace

Json DependencyToJson(const DependencySpec& d) {
  Json clauses = Json::array();
  for (const auto& c : d.clauses) {
    clauses.push_back({{"kind", static_cast<int>(c.kind)},
                       {"job_id", c.job_id},
                       {"array_task", c.array_task}});
  }
  return {{"clauses", std::move(clauses)}, {"any", d.any}, {"text", d.text}};
}

Status DependencyFromJson(const Json& j, DependencySpec& out) {
  FieldReader r(j, "dependency");
  r.Read("any", out.any);
  r.Read("text", out.text);
  if (const Json* clauses = r.Sub("clauses")) {
    if (!clauses->is_array()) return InvalidArgument("field 'dependency.clauses' must be an array");
    for (const auto& cj : *clauses) {
      FieldReader cr(cj, "dependency.clauses[]");
      Dependency d;
      int kind = 0;
      cr.Read("kind", kind);
      cr.Read("job_id", d.job_id);
      cr.Read("array_task", d.array_task);
      if (!cr.status().ok()) return cr.status();
      if (kind < 0 || kind > static_cast<int>(Dependency::Kind::kSingleton))
        return InvalidArgument("field 'dependency.clauses[].kind' is out of range");
      d.kind = static_cast<Dependency::Kind>(kind);
      out.clauses.push_back(d);
    }
  }
  return r.status();
}

Json ContainerSpecToJson(const ContainerSpec& c) {
  return {{"image", c.image},
          {"mounts", c.mounts},
          {"workdir", c.workdir},
          {"name", c.name},
          {"env", c.env},
          {"remap_root", c.remap_root},
          {"mount_home", c.mount_home},
          {"writable", c.writable},
          {"entrypoint", c.entrypoint}};
}

Status ContainerSpecFromJson(const Json& j, ContainerSpec& out) {
  FieldReader f(j, "container");
  f.Read("image", out.image);
  f.Read("mounts", out.mounts);
  f.Read("workdir", out.workdir);
  f.Read("name", out.name);
  f.Read("env", out.env);
  f.Read("remap_root", out.remap_root);
  f.Read("mount_home", out.mount_home);
  f.Read("writable", out.writable);
  f.Read("entrypoint", out.entrypoint);
  return f.status();
}

Json JobRequestToJson(const JobRequest& r) {
  Json j = {
      {"name", r.name},
      {"user", r.user},
      {"uid", r.uid},
      {"gid", r.gid},
      {"account", r.account},
      {"qos", r.qos},
      {"partition", r.partition},
      {"work_dir", r.work_dir},
      {"stdout_pattern", r.stdout_pattern},
      {"stderr_pattern", r.stderr_pattern},
      {"submit_host", r.submit_host},
      {"command", r.command},
      {"min_nodes", r.min_nodes},
      {"max_nodes", r.max_nodes},
      {"ntasks", r.ntasks},
      {"ntasks_per_node", r.ntasks_per_node},
      {"cpus_per_task", r.cpus_per_task},
      {"mem_per_node_mb", r.mem_per_node_mb},
      {"mem_per_cpu_mb", r.mem_per_cpu_mb},
      {"gpus_per_node", r.gpus_per_node},
      {"gpu_type", r.gpu_type},
      {"time_limit_s", r.time_limit_s},
      {"begin_time", r.begin_time},
      {"exclusive", r.exclusive},
      {"requeue", r.requeue},
      {"nice", r.nice},
      {"constraint", r.constraint},
      {"required_nodes", r.required_nodes},
      {"excluded_nodes", r.excluded_nodes},
      {"dependency", DependencyToJson(r.dependency)},
      {"array_spec", r.array_spec},
      {"array_max_running", r.array_max_running},
      {"open_append", r.open_append},
      {"interactive", r.interactive},
      {"webhook", r.webhook},
      {"reservation", r.reservation},
  };
  j["container"] = ContainerSpecToJson(r.container);
  return j;
}

Result<JobRequest> JobRequestFromJson(const Json& j) {
  JobRequest r;
  FieldReader f(j, "");
  f.Read("name", r.name);
  f.Read("user", r.user);
  f.Read("uid", r.uid);
  f.Read("gid", r.gid);
  f.Read("account", r.account);
  f.Read("qos", r.qos);
  f.Read("partition", r.partition);
  f.Read("work_dir", r.work_dir);
  f.Read("stdout_pattern", r.stdout_pattern);
  f.Read("stderr_pattern", r.stderr_pattern);
  f.Read("submit_host", r.submit_host);
  f.Read("command", r.command);
  f.Read("min_nodes", r.min_nodes);
  f.Read("max_nodes", r.max_nodes);
  f.Read("ntasks", r.ntasks);
  f.Read("ntasks_per_node", r.ntasks_per_node);
  f.Read("cpus_per_task", r.cpus_per_task);
  f.Read("mem_per_node_mb", r.mem_per_node_mb);
  f.Read("mem_per_cpu_mb", r.mem_per_cpu_mb);
  f.Read("gpus_per_node", r.gpus_per_node);
  f.Read("gpu_type", r.gpu_type);
  f.Read("time_limit_s", r.time_limit_s);
  f.Read("begin_time", r.begin_time);
  f.Read("exclusive", r.exclusive);
  f.Read("requeue", r.requeue);
  f.Read("nice", r.nice);
  f.Read("constraint", r.constraint);
  f.Read("required_nodes", r.required_nodes);
  f.Read("excluded_nodes", r.excluded_nodes);
  f.Read("array_spec", r.array_spec);
  f.Read("array_max_running", r.array_max_running);
  f.Read("open_append", r.open_append);
  f.Read("interactive", r.interactive);
  f.Read("webhook", r.webhook);
  f.Read("reservation", r.reservation);
  if (!f.status().ok()) return f.status();
  if (const Json* d = FieldReader(j, "").Sub("dependency")) {
    Status s = DependencyFromJson(*d, r.dependency);
    if (!s.ok()) return s;
  }
  if (const Json* c = FieldReader(j, "").Sub("container")) {
    Status s = ContainerSpecFromJson(*c, r.container);
    if (!s.ok()) return s;
  }
  return r;
}

Json SubmitRequestToJson(const SubmitRequest& s) {
  Json job = JobRequestToJson(s.req);
  if (s.requeue_unset) job.erase("requeue");
  return {{"job", std::move(job)},
          {"script", s.script},
          {"env", s.env},
          {"args", s.args},
          {"hold", s.hold}};
}

Result<SubmitRequest> SubmitRequestFromJson(const Json& j) {
  SubmitRequest s;
  FieldReader f(j, "");
  f.Read("script", s.script);
  f.Read("env", s.env);
  f.Read("args", s.args);
  f.Read("hold", s.hold);
  if (!f.status().ok()) return f.status();
  const Json* job = f.Sub("job");
  if (job == nullptr) return InvalidArgument("field 'job' is missing");
  auto req = JobRequestFromJson(*job);
  if (!req.ok()) return req.status();
  s.req = std::move(req).value();
  s.requeue_unset = !job->contains("requeue");
  return s;
}

Json JobToJson(const Job& job) {
  Json gpus = Json::array();
  for (const auto& per_node : job.gpu_indices) gpus.push_back(per_node);
  return {
      {"job_id", job.id},
      {"request", JobRequestToJson(job.req)},
      {"state", JobStateName(job.state)},
      {"reason", job.reason},
      {"held", job.held},
      {"priority", job.priority},
      {"submit_time", job.submit_time},
      {"eligible_time", job.eligible_time},
      {"start_time", job.start_time},
      {"end_time", job.end_time},
      {"array_job_id", job.array_job_id},
      {"array_task_id", job.array_task_id},
      {"nodes", job.nodes},
      {"alloc_cpus", job.alloc_cpus},
      {"cpus_per_node", job.cpus_per_node},
      {"mem_per_node_alloc_mb", job.mem_per_node_alloc_mb},
      {"gpu_indices", std::move(gpus)},
      {"exit_code", job.exit_code},
      {"exit_signal", job.exit_signal},
      {"user_cpu_us", job.user_cpu_us},
      {"system_cpu_us", job.system_cpu_us},
      {"max_rss_kb", job.max_rss_kb},
      {"restart_count", job.restart_count},
      {"generation", job.generation},
      {"terminating", job.terminating},
      {"cancel_requested", job.cancel_requested},
      {"configuring", job.configuring},
      {"preempted_by", job.preempted_by},
      {"last_modified", job.last_modified},
      {"planned_start", job.planned_start},
      {"planned_nodes", job.planned_nodes},
  };
}

Result<Job> JobFromJson(const Json& j) {
  Job job;
  FieldReader f(j, "");
  f.Read("job_id", job.id);
  std::string state = "PENDING";
  f.Read("state", state);
  f.Read("reason", job.reason);
  f.Read("held", job.held);
  f.Read("priority", job.priority);
  f.Read("submit_time", job.submit_time);
  f.Read("eligible_time", job.eligible_time);
  f.Read("start_time", job.start_time);
  f.Read("end_time", job.end_time);
  f.Read("array_job_id", job.array_job_id);
  f.Read("array_task_id", job.array_task_id);
  f.Read("nodes", job.nodes);
  f.Read("alloc_cpus", job.alloc_cpus);
  f.Read("cpus_per_node", job.cpus_per_node);
  f.Read("mem_per_node_alloc_mb", job.mem_per_node_alloc_mb);
  f.Read("exit_code", job.exit_code);
  f.Read("exit_signal", job.exit_signal);
  f.Read("user_cpu_us", job.user_cpu_us);
  f.Read("system_cpu_us", job.system_cpu_us);
  f.Read("max_rss_kb", job.max_rss_kb);
  f.Read("restart_count", job.restart_count);
  f.Read("generation", job.generation);
  f.Read("planned_start", job.planned_start);
  f.Read("planned_nodes", job.planned_nodes);
  f.Read("terminating", job.terminating);
  f.Read("cancel_requested", job.cancel_requested);
  f.Read("configuring", job.configuring);
  f.Read("preempted_by", job.preempted_by);
  f.Read("last_modified", job.last_modified);
  if (!f.status().ok()) return f.status();
  auto parsed = ParseJobState(state);
  if (!parsed) return InvalidArgument("field 'state' has unknown job state '" + state + "'");
  job.state = *parsed;
  if (const Json* g = FieldReader(j, "").Sub("gpu_indices")) {
    if (!g->is_array()) return InvalidArgument("field 'gpu_indices' must be an array");
    for (const auto& per_node : *g) {
      if (!per_node.is_array()) return InvalidArgument("field 'gpu_indices' must hold arrays");
      std::vector<uint32_t> idx;
      for (const auto& e : per_node) {
        if (!e.is_number_unsigned()) return InvalidArgument("field 'gpu_indices' must hold indices");
        idx.push_back(e.get<uint32_t>());
      }
      job.gpu_indices.push_back(std::move(idx));
    }
  }
  if (const Json* r = FieldReader(j, "").Sub("request")) {
    auto req = JobRequestFromJson(*r);
    if (!req.ok()) return req.status();
    job.req = std::move(req).value();
  }
  return job;
}

namespace {

Status ReadCounts(const Json& j, const char* key, std::vector<uint32_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(std::string("field '") + key + "' must be an array");
  out.clear();
  for (const auto& e : *it) {
    if (!e.is_number_unsigned() || e.get<uint64_t>() > UINT32_MAX) {
      return InvalidArgument(std::string("field '") + key + "' must hold counts");
    }
    out.push_back(e.get<uint32_t>());
  }
  return Status::Ok();
}

}  // namespace

Json StepToJson(const Step& s) {
  return {{"job_id", s.job_id},
          {"step_id", s.step_id},
          {"name", s.name},
          {"user", s.user},
          {"partition", s.partition},
          {"nodes", s.nodes},
          {"tasks_per_node", s.tasks_per_node},
          {"ntasks", s.ntasks},
          {"cpus_per_task", s.cpus_per_task},
          {"state", JobStateName(s.state)},
          {"start_time", s.start_time},
          {"end_time", s.end_time},
          {"exit_code", s.exit_code},
          {"exit_signal", s.exit_signal},
          {"user_cpu_us", s.user_cpu_us},
          {"system_cpu_us", s.system_cpu_us},
          {"max_rss_kb", s.max_rss_kb},
          {"max_rss_node", s.max_rss_node},
          {"time_limit_s", s.time_limit_s},
          {"array_job_id", s.array_job_id},
          {"array_task_id", s.array_task_id},
          {"completing", s.completing}};
}

Json StepUsageToJson(const StepUsage& s) {
  Json tasks = Json::array();
  for (const TaskUsageSample& t : s.tasks) {
    tasks.push_back({{"node", t.node},
                     {"task", t.task},
                     {"cpu_seconds", t.cpu_seconds},
                     {"rss_bytes", t.rss_bytes},
                     {"vm_bytes", t.vm_bytes},
                     {"pages", t.pages},
                     {"read_bytes", t.read_bytes},
                     {"write_bytes", t.write_bytes},
                     {"pids", t.pids}});
  }
  return {{"job_id", s.job_id},
          {"step", s.batch ? std::string("batch") : std::to_string(s.step_id)},
          {"step_id", s.IdText()},
          {"nodes", s.nodes},
          {"ntasks", s.ntasks},
          {"tasks", std::move(tasks)}};
}

Result<StepUsage> StepUsageFromJson(const Json& j) {
  StepUsage s;
  try {
    s.job_id = j.at("job_id").get<JobId>();
    const std::string step = j.at("step").get<std::string>();
    s.batch = step == "batch";
    if (!s.batch) s.step_id = static_cast<uint32_t>(std::stoul(step));
    s.nodes = j.at("nodes").get<std::vector<std::string>>();
    s.ntasks = j.at("ntasks").get<uint32_t>();
    for (const Json& t : j.at("tasks")) {
      TaskUsageSample u;
      u.node = t.at("node").get<std::string>();
      u.task = t.at("task").get<uint32_t>();
      u.cpu_seconds = t.at("cpu_seconds").get<double>();
      u.rss_bytes = t.at("rss_bytes").get<uint64_t>();
      u.vm_bytes = t.at("vm_bytes").get<uint64_t>();
      u.pages = t.at("pages").get<uint64_t>();
      u.read_bytes = t.at("read_bytes").get<uint64_t>();
      u.write_bytes = t.at("write_bytes").get<uint64_t>();
      u.pids = t.at("pids").get<std::vector<int32_t>>();
      s.tasks.push_back(std::move(u));
    }
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("bad step usage: ") + e.what());
  }
  return s;
}

Result<Step> StepFromJson(const Json& j) {
  Step s;
  FieldReader f(j, "");
  f.Read("job_id", s.job_id);
  f.Read("step_id", s.step_id);
  f.Read("name", s.name);
  f.Read("user", s.user);
  f.Read("partition", s.partition);
  f.Read("nodes", s.nodes);
  f.Read("ntasks", s.ntasks);
  f.Read("cpus_per_task", s.cpus_per_task);
  std::string state = "RUNNING";
  f.Read("state", state);
  f.Read("start_time", s.start_time);
  f.Read("end_time", s.end_time);
  f.Read("exit_code", s.exit_code);
  f.Read("exit_signal", s.exit_signal);
  f.Read("user_cpu_us", s.user_cpu_us);
  f.Read("system_cpu_us", s.system_cpu_us);
  f.Read("max_rss_kb", s.max_rss_kb);
  f.Read("max_rss_node", s.max_rss_node);
  f.Read("time_limit_s", s.time_limit_s);
  f.Read("array_job_id", s.array_job_id);
  f.Read("array_task_id", s.array_task_id);
  f.Read("completing", s.completing);
  if (!f.status().ok()) return f.status();
  if (Status st = ReadCounts(j, "tasks_per_node", s.tasks_per_node); !st.ok()) return st;
  auto parsed = ParseJobState(state);
  if (!parsed) return InvalidArgument("field 'state' has unknown job state '" + state + "'");
  s.state = *parsed;
  return s;
}

Json StepRequestToJson(const StepRequest& r) {
  Json j = {{"name", r.name},
            {"nodes", r.nodes},
            {"ntasks", r.ntasks},
            {"ntasks_per_node", r.ntasks_per_node},
            {"cpus_per_task", r.cpus_per_task},
            {"nodelist", r.nodelist},
            {"exclusive", r.exclusive},
            {"exact", r.exact},
            {"overlap", r.overlap},
            {"mem_per_node_mb", r.mem_per_node_mb},
            {"input", r.input},
            {"kill_on_bad_exit", r.kill_on_bad_exit},
            {"gpus", r.gpus},
            {"gpus_per_node", r.gpus_per_node},
            {"time_limit_s", r.time_limit_s},
            {"argv", r.argv},
            {"env", r.env},
            {"work_dir", r.work_dir},
            {"io_host", r.io_host},
            {"io_port", r.io_port},
            {"io_key", r.io_key},
            {"pty", r.pty},
            {"pty_rows", r.pty_rows},
            {"pty_cols", r.pty_cols}};
  if (r.container != ContainerSpec{}) j["container"] = ContainerSpecToJson(r.container);
  return j;
}

Result<StepRequest> StepRequestFromJson(const Json& j) {
  StepRequest r;
  FieldReader f(j, "");
  f.Read("name", r.name);
  f.Read("nodes", r.nodes);
  f.Read("ntasks", r.ntasks);
  f.Read("ntasks_per_node", r.ntasks_per_node);
  f.Read("cpus_per_task", r.cpus_per_task);
  f.Read("nodelist", r.nodelist);
  f.Read("exclusive", r.exclusive);
  f.Read("exact", r.exact);
  f.Read("overlap", r.overlap);
  f.Read("mem_per_node_mb", r.mem_per_node_mb);
  f.Read("input", r.input);
  f.Read("kill_on_bad_exit", r.kill_on_bad_exit);
  f.Read("gpus", r.gpus);
  f.Read("gpus_per_node", r.gpus_per_node);
  f.Read("time_limit_s", r.time_limit_s);
  f.Read("argv", r.argv);
  f.Read("env", r.env);
  f.Read("work_dir", r.work_dir);
  f.Read("io_host", r.io_host);
  f.Read("io_port", r.io_port);
  f.Read("io_key", r.io_key);
  f.Read("pty", r.pty);
  f.Read("pty_rows", r.pty_rows);
  f.Read("pty_cols", r.pty_cols);
  if (!f.status().ok()) return f.status();
  if (const Json* c = FieldReader(j, "").Sub("container")) {
    Status s = ContainerSpecFromJson(*c, r.container);
    if (!s.ok()) return s;
  }
  if (r.pty_rows > 65535 || r.pty_cols > 65535) {
    return InvalidArgument("fields 'pty_rows' and 'pty_cols' must be at most 65535");
  }
  if (r.argv.empty()) return InvalidArgument("field 'argv' must name a program");
  if (r.cpus_per_task == 0) return InvalidArgument("field 'cpus_per_task' must be positive");
  if (r.input != "all" && r.input != "none" &&
      (r.input.empty() || r.input.size() > 9 ||
       r.input.find_first_not_of("0123456789") != std::string::npos)) {
    return InvalidArgument("field 'input' must be all, none or a task number");
  }
  return r;
}

Json NodeToJson(const Node& n) {
  Json busy = Json::array();
  for (bool b : n.gpu_busy) busy.push_back(b);
  return {
      {"name", n.name},
      {"address", n.address},
      {"cpus", n.cpus},
      {"memory_mb", n.memory_mb},
      {"gpus", n.gpus},
      {"gpu_type", n.gpu_type},
      {"features", n.features},
      {"responding", n.responding},
      {"drain", n.drain},
      {"down", n.down},
      {"reason", n.reason},
      {"reserved", n.reserved},
      {"reason_time", n.reason_time},
      {"last_heartbeat", n.last_heartbeat},
      {"boot_time", n.boot_time},
      {"configured", n.configured},
      {"cloud", n.cloud},
      {"power", static_cast<int>(n.power)},
      {"power_down_pending", n.power_down_pending},
      {"power_since", n.power_since},
      {"alloc_cpus", n.alloc_cpus},
      {"alloc_mem_mb", n.alloc_mem_mb},
      {"gpu_busy", std::move(busy)},
      {"running_jobs", n.running_jobs},
      {"state", n.StateText(false)},
      {"state_long", n.StateText(true)},
  };
}

Result<Node> NodeFromJson(const Json& j) {
  Node n;
  FieldReader f(j, "");
  f.Read("name", n.name);
  f.Read("address", n.address);
  f.Read("cpus", n.cpus);
  f.Read("memory_mb", n.memory_mb);
  f.Read("gpus", n.gpus);
  f.Read("gpu_type", n.gpu_type);
  f.Read("features", n.features);
  f.Read("responding", n.responding);
  f.Read("drain", n.drain);
  f.Read("down", n.down);
  f.Read("reason", n.reason);
  f.Read("reserved", n.reserved);
  f.Read("reason_time", n.reason_time);
  f.Read("last_heartbeat", n.last_heartbeat);
  f.Read("boot_time", n.boot_time);
  f.Read("configured", n.configured);
  f.Read("cloud", n.cloud);
  int power = 0;
  f.Read("power", power);
  if (power < 0 || power > static_cast<int>(NodePower::kPoweringDown)) power = 0;
  n.power = static_cast<NodePower>(power);
  f.Read("power_down_pending", n.power_down_pending);
  f.Read("power_since", n.power_since);
  f.Read("alloc_cpus", n.alloc_cpus);
  f.Read("alloc_mem_mb", n.alloc_mem_mb);
  if (!f.status().ok()) return f.status();
  if (const Json* b = FieldReader(j, "").Sub("gpu_busy"); b && b->is_array()) {
    for (const auto& e : *b) n.gpu_busy.push_back(e.is_boolean() && e.get<bool>());
  }
  if (const Json* r = FieldReader(j, "").Sub("running_jobs"); r && r->is_array()) {
    for (const auto& e : *r) {
      if (e.is_number_unsigned()) n.running_jobs.push_back(e.get<JobId>());
    }
  }
  return n;
}

Json PartitionToJson(const Partition& p) {
  return {
      {"name", p.name},
      {"nodes", p.nodes},
      {"all_nodes", p.all_nodes},
      {"is_default", p.is_default},
      {"up", p.up},
      {"inactive", p.inactive},
      {"drain", p.drain},
      {"max_time_s", p.max_time_s},
      {"default_time_s", p.default_time_s},
      {"max_nodes", p.max_nodes},
      {"priority_job_factor", p.priority_job_factor},
      {"priority_tier", p.priority_tier},
  };
}

Result<Partition> PartitionFromJson(const Json& j) {
  Partition p;
  FieldReader f(j, "");
  f.Read("name", p.name);
  f.Read("nodes", p.nodes);
  f.Read("all_nodes", p.all_nodes);
  f.Read("is_default", p.is_default);
  f.Read("up", p.up);
  f.Read("inactive", p.inactive);
  f.Read("drain", p.drain);
  f.Read("max_time_s", p.max_time_s);
  f.Read("default_time_s", p.default_time_s);
  f.Read("max_nodes", p.max_nodes);
  f.Read("priority_job_factor", p.priority_job_factor);
  f.Read("priority_tier", p.priority_tier);
  if (!f.status().ok()) return f.status();
  return p;
}

Json ReservationToJson(const Reservation& r) {
  return {
      {"name", r.name},
      {"nodes", r.nodes},
      {"start_time", r.start_time},
      {"end_time", r.end_time},
      {"users", r.users},
      {"accounts", r.accounts},
      {"flags", ReservationFlagsText(r.flags)},
      {"partition", r.partition},
  };
}

Result<Reservation> ReservationFromJson(const Json& j) {
  Reservation r;
  FieldReader f(j, "");
  f.Read("name", r.name);
  f.Read("nodes", r.nodes);
  f.Read("start_time", r.start_time);
  f.Read("end_time", r.end_time);
  f.Read("users", r.users);
  f.Read("accounts", r.accounts);
  std::string flags;
  f.Read("flags", flags);
  f.Read("partition", r.partition);
  if (!f.status().ok()) return f.status();
  // SPEC_NODES is ours to set; the rest are scontrol's words.
  uint32_t spec = 0;
  std::string rest;
  for (const std::string& w : Split(flags, ',')) {
    if (w == "SPEC_NODES") {
      spec = kResvSpecNodes;
    } else if (!w.empty()) {
      rest += (rest.empty() ? "" : ",") + w;
    }
  }
  auto parsed = ParseReservationFlags(rest);
  if (!parsed.ok()) return parsed.status();
  r.flags = *parsed | spec;
  if (r.name.empty()) return InvalidArgument("reservation: name must not be empty");
  return r;
}

Json ErrorToJson(const Status& s) {
  return {{"error", {{"code", StatusCodeName(s.code())}, {"message", s.message()}}}};
}

Status ErrorFromJson(const Json& j) {
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const Json& e = j["error"];
    std::string code = e.value("code", "Internal");
    std::string message = e.value("message", "unknown error");
    for (StatusCode c :
         {StatusCode::kInvalidArgument, StatusCode::kNotFound, StatusCode::kAlreadyExists,
          StatusCode::kFailedPrecondition, StatusCode::kUnavailable, StatusCode::kPermissionDenied,
          StatusCode::kUnauthenticated, StatusCode::kResourceExhausted}) {
      if (code == StatusCodeName(c)) return Status(c, message);
    }
    return Internal(message);
  }
  return Internal("malformed error answer from controller");
}

// --- accounting ------------------------------------------------------------------------------

namespace {

Json TresText(const Tres& t) { return FormatTres(t); }

void ReadTres(FieldReader& f, const char* key, Tres& out) {
  std::string text;
  f.Read(key, text);
  if (!f.status().ok() || text.empty()) return;
  Status s = ParseTres(text, out);
  if (!s.ok()) f.Fail(key, s.message());
}

Json AssocLimitsToJson(const AssocLimits& l) {
  return {{"grp_tres", TresText(l.grp_tres)}, {"grp_jobs", l.grp_jobs},
          {"grp_submit", l.grp_submit},       {"max_jobs", l.max_jobs},
          {"max_submit", l.max_submit},       {"max_wall_s", l.max_wall_s},
          {"max_tres_per_job", TresText(l.max_tres_per_job)}};
}

void ReadAssocLimits(FieldReader& f, AssocLimits& l) {
  ReadTres(f, "grp_tres", l.grp_tres);
  f.Read("grp_jobs", l.grp_jobs);
  f.Read("grp_submit", l.grp_submit);
  f.Read("max_jobs", l.max_jobs);
  f.Read("max_submit", l.max_submit);
  f.Read("max_wall_s", l.max_wall_s);
  ReadTres(f, "max_tres_per_job", l.max_tres_per_job);
}

Json QosToJson(const Qos& q) {
  Json j = {{"name", q.name},
            {"description", q.description},
            {"priority", q.priority},
            {"preempt", q.preempt},
            {"preempt_mode", q.preempt_mode ? PreemptModeName(*q.preempt_mode) : ""},
            {"grace_time_s", q.grace_time_s},
            {"max_jobs_per_user", q.max_jobs_per_user},
            {"max_submit_jobs_per_user", q.max_submit_jobs_per_user},
            {"max_wall_s", q.max_wall_s},
            {"usage_factor", q.usage_factor},
            {"grp_tres", TresText(q.grp_tres)},
            {"grp_jobs", q.grp_jobs},
            {"grp_submit", q.grp_submit},
            {"max_tres_per_job", TresText(q.max_tres_per_job)},
            {"max_tres_per_user", TresText(q.max_tres_per_user)},
            {"defined_in", q.defined_in}};
  return j;
}

Result<Qos> QosFromJson(const Json& j, const std::string& context) {
  Qos q;
  FieldReader f(j, context);
  f.Read("name", q.name);
  f.Read("description", q.description);
  f.Read("priority", q.priority);
  f.Read("preempt", q.preempt);
  std::string mode;
  f.Read("preempt_mode", mode);
  if (!mode.empty()) {
    q.preempt_mode = ParsePreemptMode(mode);
    if (!q.preempt_mode) f.Fail("preempt_mode", "must be OFF, CANCEL or REQUEUE");
  }
  f.Read("grace_time_s", q.grace_time_s);
  f.Read("max_jobs_per_user", q.max_jobs_per_user);
  f.Read("max_submit_jobs_per_user", q.max_submit_jobs_per_user);
  f.Read("max_wall_s", q.max_wall_s);
  if (const Json* u = f.Sub("usage_factor")) {
    if (!u->is_number() || u->get<double>() < 0) {
      f.Fail("usage_factor", "must be a number of at least 0");
    } else {
      q.usage_factor = u->get<double>();
    }
  }
  ReadTres(f, "grp_tres", q.grp_tres);
  f.Read("grp_jobs", q.grp_jobs);
  f.Read("grp_submit", q.grp_submit);
  ReadTres(f, "max_tres_per_job", q.max_tres_per_job);
  ReadTres(f, "max_tres_per_user", q.max_tres_per_user);
  f.Read("defined_in", q.defined_in);
  if (f.status().ok() && q.name.empty()) f.Fail("name", "must not be empty");
  if (!f.status().ok()) return f.status();
  return q;
}

// Reads an array of objects under `key`, each with `one`.
template <typename T, typename Fn>
Status ReadObjects(const Json& j, const char* key, std::vector<T>& out, Fn one) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(std::string("field '") + key + "' must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    auto item = one((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!item.ok()) return item.status();
    out.push_back(std::move(item).value());
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> PairsFromJson(const Json& j,
                                                                     const char* key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  const std::string why = std::string("field '") + key + "' must be an array of [key, value]";
  if (!it->is_array()) return InvalidArgument(why);
  for (const Json& pair : *it) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return InvalidArgument(why);
    }
    out.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return out;
}

}  // namespace

Json AccountingDbToJson(const AccountingDb& db) {
  Json accounts = Json::array();
  for (const Account& a : db.accounts) {
    accounts.push_back({{"name", a.name},
                        {"description", a.description},
                        {"organization", a.organization},
                        {"parent", a.parent},
                        {"defined_in", a.defined_in}});
  }
  Json users = Json::array();
  for (const UserRecord& u : db.users) {
    users.push_back({{"name", u.name},
                     {"default_account", u.default_account},
                     {"admin_level", AdminLevelName(u.admin)}});
  }
  Json assocs = Json::array();
  for (const Association& a : db.assocs) {
    assocs.push_back({{"account", a.account},
                      {"user", a.user},
                      {"shares", a.shares},
                      {"priority", a.priority},
                      {"limits", AssocLimitsToJson(a.limits)},
                      {"qos", a.qos},
                      {"default_qos", a.default_qos}});
    // Only when set: documents without partition associations stay as older versions wrote
    // them, and older documents read as partition-less.
    if (!a.partition.empty()) assocs.back()["partition"] = a.partition;
  }
  Json qos = Json::array();
  for (const Qos& q : db.qos) qos.push_back(QosToJson(q));
  return {{"accounts", std::move(accounts)},
          {"users", std::move(users)},
          {"associations", std::move(assocs)},
          {"qos", std::move(qos)}};
}

Result<AccountingDb> AccountingDbFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("accounting document must be a JSON object");
  AccountingDb db;
  Status s = ReadObjects(j, "accounts", db.accounts, [](const Json& e, const std::string& ctx)
                                                         -> Result<Account> {
    Account a;
    FieldReader f(e, ctx);
    f.Read("name", a.name);
    f.Read("description", a.description);
    f.Read("organization", a.organization);
    f.Read("parent", a.parent);
    f.Read("defined_in", a.defined_in);
    if (!f.status().ok()) return f.status();
    return a;
  });
  if (s.ok()) {
    s = ReadObjects(j, "users", db.users, [](const Json& e, const std::string& ctx)
                                              -> Result<UserRecord> {
      UserRecord u;
      FieldReader f(e, ctx);
      f.Read("name", u.name);
      f.Read("default_account", u.default_account);
      std::string level = "None";
      f.Read("admin_level", level);
      if (!f.status().ok()) return f.status();
      for (AdminLevel l : {AdminLevel::kNone, AdminLevel::kOperator, AdminLevel::kAdministrator}) {
        if (level == AdminLevelName(l)) u.admin = l;
      }
      return u;
    });
  }
  if (s.ok()) {
    s = ReadObjects(j, "associations", db.assocs, [](const Json& e, const std::string& ctx)
                                                      -> Result<Association> {
      Association a;
      FieldReader f(e, ctx);
      f.Read("account", a.account);
      f.Read("user", a.user);
      f.Read("partition", a.partition);
      f.Read("shares", a.shares);
      f.Read("priority", a.priority);
      if (const Json* limits = f.Sub("limits")) {
        FieldReader lf(*limits, ctx + ".limits");
        ReadAssocLimits(lf, a.limits);
        if (!lf.status().ok()) return lf.status();
      }
      f.Read("qos", a.qos);
      f.Read("default_qos", a.default_qos);
      if (!f.status().ok()) return f.status();
      return a;
    });
  }
  if (s.ok()) s = ReadObjects(j, "qos", db.qos, QosFromJson);
  if (!s.ok()) return s;
  return db;
}

Json AccountingChangeToJson(const AccountingChange& c, bool dry_run) {
  Json conditions = Json::array();
  for (const auto& [k, v] : c.conditions) conditions.push_back({k, v});
  Json settings = Json::array();
  for (const auto& [k, v] : c.settings) settings.push_back({k, v});
  return {{"verb", VerbName(c.verb)},   {"entity", EntityName(c.entity)},
          {"names", c.names},           {"conditions", std::move(conditions)},
          {"settings", std::move(settings)}, {"dry_run", dry_run}};
}

Result<AccountingChange> AccountingChangeFromJson(const Json& j, bool* dry_run) {
  AccountingChange c;
  FieldReader f(j, "");
  std::string verb, entity;
  f.Read("verb", verb);
  f.Read("entity", entity);
  f.Read("names", c.names);
  bool dry = false;
  f.Read("dry_run", dry);
  if (!f.status().ok()) return f.status();
  bool verb_ok = false, entity_ok = false;
  for (auto v : {AccountingChange::Verb::kAdd, AccountingChange::Verb::kModify,
                 AccountingChange::Verb::kDelete}) {
    if (verb == VerbName(v)) c.verb = v, verb_ok = true;
  }
  for (auto e : {AccountingChange::Entity::kAccount, AccountingChange::Entity::kUser,
                 AccountingChange::Entity::kQos}) {
    if (entity == EntityName(e)) c.entity = e, entity_ok = true;
  }
  if (!verb_ok) return InvalidArgument("field 'verb' must be add, modify or delete");
  if (!entity_ok) return InvalidArgument("field 'entity' must be account, user or qos");
  auto conditions = PairsFromJson(j, "conditions");
  if (!conditions.ok()) return conditions.status();
  auto settings = PairsFromJson(j, "settings");
  if (!settings.ok()) return settings.status();
  c.conditions = std::move(conditions).value();
  c.settings = std::move(settings).value();
  if (dry_run != nullptr) *dry_run = dry;
  return c;
}

}  // namespace shoal
