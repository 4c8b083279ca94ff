#include "apps/cluster_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/strings.h"

extern char** environ;

namespace fs = std::filesystem;

namespace shoal {

std::string SelfDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

pid_t SpawnDaemon(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return pid;
}

bool Alive(pid_t pid) {
  if (pid <= 0) return false;
  waitpid(pid, nullptr, WNOHANG);  // a child of ours that died is a zombie until reaped
  return kill(pid, 0) == 0;
}

Json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str(), nullptr, false);
}

void WriteJsonFile(const std::string& path, const Json& j) {
  {
    std::ofstream out(path + ".tmp");
    out << j.dump(2) << "\n";
  }
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
}

bool ExitedEarly(pid_t pid) {
  int status;
  return waitpid(pid, &status, WNOHANG) == pid;
}

std::string TailOf(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

namespace {

// Every process's pid, from /proc.
std::vector<pid_t> AllPids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
      out.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return out;
}

std::string ProcFile(pid_t pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<pid_t> ProcessesMentioning(const std::string& needle, const std::string& program) {
  std::vector<pid_t> out;
  for (pid_t pid : AllPids()) {
    const std::string cmd = ProcFile(pid, "cmdline");
    if (cmd.find(program) != std::string::npos && cmd.find(needle) != std::string::npos) {
      out.push_back(pid);
    }
  }
  return out;
}

std::vector<pid_t> Descendants(const std::vector<pid_t>& roots) {
  std::multimap<pid_t, pid_t> children;
  for (pid_t pid : AllPids()) {
    const std::string stat = ProcFile(pid, "stat");
    size_t close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos || close + 2 > stat.size()) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t parent = 0;
    if (rest >> state >> parent) children.emplace(parent, pid);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> todo = roots;
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

void StopPids(const std::vector<pid_t>& pids, int wait_ms) {
  for (pid_t p : pids) {
    if (Alive(p)) kill(p, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t p : pids) {
      waitpid(p, nullptr, WNOHANG);
      any = any || Alive(p);
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (pid_t p : pids) {
    if (Alive(p)) kill(p, SIGKILL);
  }
}

Result<int64_t> ParseSeconds(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) +
                           "' (expected seconds, or a number with s, m or h)");
  };
  if (text.empty()) return bad();
  int64_t unit = 1;
  std::string_view digits = text;
  if (!std::isdigit(static_cast<unsigned char>(text.back()))) {
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      default: return bad();
    }
    digits.remove_suffix(1);
  }
  std::optional<uint64_t> n = ParseUint(digits);
  if (!n || *n == 0 || *n > 366ull * 86400 / static_cast<uint64_t>(unit)) return bad();
  return static_cast<int64_t>(*n) * unit;
}

Result<std::pair<int64_t, int64_t>> ParseSecondsRange(std::string_view text, std::string_view what) {
  size_t dash = text.find('-');
  Result<int64_t> low = ParseSeconds(text.substr(0, dash), what);
  if (!low.ok()) return low.status();
  if (dash == std::string_view::npos) return std::make_pair(*low, *low);
  Result<int64_t> high = ParseSeconds(text.substr(dash + 1), what);
  if (!high.ok()) return high.status();
  if (*high < *low) {
    return InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) +
                           "' (the low end is above the high end)");
  }
  return std::make_pair(*low, *high);
}

}  // namespace shoal
