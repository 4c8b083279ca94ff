#include "agent/job_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/job_files.h"
#include "common/strings.h"

namespace shoal::agent {
namespace {

std::optional<std::string> ReadText(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return std::nullopt;
  return std::move(text).value();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Writes `value` to a cgroup control file; the error names the file and the kernel's reason.
Status WriteControl(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Internal("cannot open " + path + ": " + std::strerror(errno));
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return Internal("cannot write '" + value + "' to " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// The value after `key` on a "key value" line of a cgroup file (memory.events, cpu.stat, ...).
std::optional<uint64_t> KeyedValue(const std::string& path, std::string_view key) {
  std::optional<std::string> text = ReadText(path);
  if (!text) return std::nullopt;
  for (std::string_view line : Split(*text, '\n')) {
    std::vector<std::string> words = Split(line, ' ');
    if (words.size() == 2 && words[0] == key) {
      return std::strtoull(words[1].c_str(), nullptr, 10);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> PlainValue(const std::string& path) {
  std::optional<std::string> text = ReadText(path);
  if (!text || text->empty()) return std::nullopt;
  return std::strtoull(text->c_str(), nullptr, 10);
}

struct Mount {
  std::string root;                      // the hierarchy's directory mounted there
  std::string point;                     // where
  bool unified = false;                  // cgroup2
  std::vector<std::string> controllers;  // v1: from the super options
};

std::vector<Mount> CgroupMounts(const std::string& proc_root) {
  std::vector<Mount> out;
  std::optional<std::string> text = ReadText(proc_root + "/self/mountinfo");
  if (!text) return out;
  for (std::string_view line : Split(*text, '\n')) {
    // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const std::vector<std::string> f = Split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 1 >= f.size()) continue;
    const std::string& type = f[dash + 1];
    if (type != "cgroup" && type != "cgroup2") continue;
    Mount m;
    m.root = f[3];
    m.point = f[4];
    m.unified = type == "cgroup2";
    if (!m.unified && dash + 3 < f.size()) m.controllers = Split(f[dash + 3], ',');
    out.push_back(std::move(m));
  }
  return out;
}

bool Has(const std::vector<std::string>& list, std::string_view item) {
  for (const std::string& s : list) {
    if (s == item) return true;
  }
  return false;
}

// The calling process's directory in a hierarchy: the mount point plus its path below the
// mount's root; empty when the process's cgroup is outside what is mounted.
std::string OwnDir(const Mount& m, const std::string& path) {
  std::string below = path;
  if (m.root != "/") {
    if (path.rfind(m.root, 0) != 0) return "";
    below = path.substr(m.root.size());
  }
  if (below == "/") below.clear();
  return m.point + below;
}

// v2: gives the memory and cpu controllers to `dir`'s children.
Status Delegate(const std::string& dir) {
  Status st = WriteControl(dir + "/cgroup.subtree_control", "+memory");
  WriteControl(dir + "/cgroup.subtree_control", "+cpu");  // CPU accounting works without it
  return st;
}

}  // namespace

CgroupLayout PrepareCgroupLayout(const std::string& node, const std::string& proc_root) {
  CgroupLayout layout;
  const std::vector<Mount> mounts = CgroupMounts(proc_root);
  std::optional<std::string> own = ReadText(proc_root + "/self/cgroup");
  if (mounts.empty() || !own) {
    layout.problem = "no cgroup hierarchy is mounted";
    return layout;
  }
  // "ID:CONTROLLERS:PATH" per hierarchy; v2's is "0::PATH".
  std::vector<std::pair<std::vector<std::string>, std::string>> memberships;
  for (std::string_view line : Split(*own, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    memberships.push_back(
        {Split(line.substr(a + 1, b - a - 1), ','), std::string(line.substr(b + 1))});
  }
  const std::string tail = "/shoal/" + node;

  // cgroup v1 where its memory or cpuacct controllers are mounted (hybrid hosts too).
  for (const char* controller : {"memory", "cpuacct"}) {
    for (const Mount& m : mounts) {
      if (m.unified || !Has(m.controllers, controller)) continue;
      for (const auto& [controllers, path] : memberships) {
        if (!Has(controllers, controller)) continue;
        std::string dir = OwnDir(m, path);
        if (dir.empty()) continue;
        std::string parent = dir + tail;
        bool duplicate = false;
        for (const std::string& p : layout.parents) duplicate |= p == parent;
        if (duplicate) continue;  // cpu,cpuacct and memory mounted together
        Status st = MakeDir(dir + "/shoal");
        if (st.ok()) st = MakeDir(parent);
        if (!st.ok()) {
          layout.problem = st.message();
          continue;
        }
        layout.parents.push_back(parent);
        if (std::string_view(controller) == "memory") layout.memory = true;
      }
    }
  }
  if (!layout.parents.empty()) return layout;

  // cgroup v2.
  for (const Mount& m : mounts) {
    if (!m.unified) continue;
    for (const auto& [controllers, path] : memberships) {
      if (!controllers.empty() && !(controllers.size() == 1 && controllers[0].empty())) continue;
      std::string dir = OwnDir(m, path);
      if (dir.empty()) continue;
      Status st = MakeDir(dir + "/shoal");
      if (st.ok()) st = MakeDir(dir + tail);
      if (!st.ok()) {
        layout.problem = st.message();
        return layout;
      }
      layout.parents.push_back(dir + tail);
      std::optional<std::string> available = ReadText(dir + "/cgroup.controllers");
      if (!available || !Has(Split(Trim(*available), ' '), "memory")) {
        layout.problem = dir + " has no memory controller: memory limits are not enforced";
        return layout;
      }
      // A cgroup with processes of its own cannot give controllers to children: move this
      // process into a leaf of its own first (the root cgroup is exempt).
      Status delegated = Delegate(dir);
      if (!delegated.ok() && dir != m.point) {
        if (MakeDir(dir + "/agent").ok() &&
            WriteControl(dir + "/agent/cgroup.procs", std::to_string(getpid())).ok()) {
          delegated = Delegate(dir);
        }
      }
      if (delegated.ok()) delegated = Delegate(dir + "/shoal");
      if (delegated.ok()) delegated = Delegate(dir + tail);
      if (!delegated.ok()) {
        layout.problem = delegated.message() + ": memory limits are not enforced";
        return layout;
      }
      layout.memory = true;
      return layout;
    }
  }
  if (layout.problem.empty()) layout.problem = "this process is in no mounted cgroup";
  return layout;
}

std::vector<std::string> JobCgroupDirs(const CgroupLayout& layout, uint64_t job_id) {
  std::vector<std::string> dirs;
  for (const std::string& p : layout.parents) dirs.push_back(p + "/job_" + std::to_string(job_id));
  return dirs;
}

std::string StepCgroupLeaf(bool batch, uint32_t step_id) {
  return batch ? "step_batch" : "step_" + std::to_string(step_id);
}

Status EnterJobCgroup(const std::vector<std::string>& job_dirs, const std::string& leaf,
                      uint64_t memory_limit_bytes) {
  bool limited = memory_limit_bytes == 0;
  const std::string limit = std::to_string(memory_limit_bytes);
  for (const std::string& dir : job_dirs) {
    if (Status st = MakeDir(dir); !st.ok()) return st;
    if (memory_limit_bytes > 0) {
      if (Exists(dir + "/memory.limit_in_bytes")) {  // v1: no swap beyond the limit either
        if (Status st = WriteControl(dir + "/memory.limit_in_bytes", limit); !st.ok()) return st;
        if (Exists(dir + "/memory.memsw.limit_in_bytes")) {
          WriteControl(dir + "/memory.memsw.limit_in_bytes", limit);
        }
        limited = true;
      } else if (Exists(dir + "/memory.max")) {
        if (Status st = WriteControl(dir + "/memory.max", limit); !st.ok()) return st;
        if (Exists(dir + "/memory.swap.max")) WriteControl(dir + "/memory.swap.max", "0");
        limited = true;
      }
    }
    // v2: the step leaves get their own memory.events (a job directory has no processes).
    if (Exists(dir + "/cgroup.subtree_control") && Exists(dir + "/memory.max")) {
      WriteControl(dir + "/cgroup.subtree_control", "+memory");
    }
    const std::string step = dir + "/" + leaf;
    rmdir(step.c_str());  // a leftover of an earlier run would carry its counters
    if (Status st = MakeDir(step); !st.ok()) return st;
    if (Status st = WriteControl(step + "/cgroup.procs", std::to_string(getpid())); !st.ok()) {
      return st;
    }
  }
  if (!limited) {
    return Internal("no memory controller among the job's cgroups: cannot limit its memory");
  }
  return Status::Ok();
}

uint64_t CountOomKills(const std::vector<std::string>& job_dirs, const std::string& leaf) {
  uint64_t kills = 0;
  for (const std::string& dir : job_dirs) {
    const std::string step = dir + "/" + leaf;
    // v1 counts in the cgroup of the killed process; v2 counts a cgroup's subtree.
    if (auto n = KeyedValue(step + "/memory.oom_control", "oom_kill")) kills += *n;
    if (auto n = KeyedValue(step + "/memory.events", "oom_kill")) kills += *n;
  }
  return kills;
}

std::optional<CgroupUsage> ReadCgroupUsage(const std::vector<std::string>& job_dirs) {
  CgroupUsage u;
  bool cpu = false, memory = false;
  for (const std::string& dir : job_dirs) {
    if (auto ns = PlainValue(dir + "/cpuacct.usage")) {
      u.cpu_seconds = *ns / 1e9;
      cpu = true;
    } else if (auto us = KeyedValue(dir + "/cpu.stat", "usage_usec")) {
      u.cpu_seconds = *us / 1e6;
      cpu = true;
    }
    if (auto bytes = PlainValue(dir + "/memory.usage_in_bytes")) {
      u.memory_bytes = *bytes;
      memory = true;
    } else if (auto current = PlainValue(dir + "/memory.current")) {
      u.memory_bytes = *current;
      memory = true;
    }
  }
  if (!cpu || !memory) return std::nullopt;
  return u;
}

void RemoveJobCgroup(const std::vector<std::string>& job_dirs, const std::string& leaf) {
  for (const std::string& dir : job_dirs) {
    rmdir((dir + "/" + leaf).c_str());
    rmdir(dir.c_str());  // fails while another step of the job is still here: it removes it
  }
}

}  // namespace shoal::agent
