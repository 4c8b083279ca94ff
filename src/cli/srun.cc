// srun and salloc. salloc makes an interactive allocation (a job with no batch script), runs a
// command here with its SLURM_* variables and relinquishes it when the command exits. srun
// launches a step in the allocation it runs in (SLURM_JOB_ID or --jobid), or in one it makes
// and relinquishes itself, and collects the tasks' output: it listens on a TCP port, and every
// task's stdout and stderr connect back to it, so output never flows through the controller.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/srun_options.h"
#include "cli/users.h"
#include "common/hostlist.h"
#include "common/strings.h"

extern char** environ;

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupts = 0;
volatile sig_atomic_t g_terminate = 0;
volatile sig_atomic_t g_window_changed = 0;

void OnInterrupt(int) { g_interrupts = g_interrupts + 1; }
void OnTerminate(int) { g_terminate = 1; }
void OnWindowChange(int) { g_window_changed = 1; }

// --- srun --pty: the user's terminal in raw mode while the step runs ---------------------------

// The terminal's settings before srun made it raw; restored on every way out, signals included
// (tcsetattr is async-signal-safe).
termios g_saved_termios;
volatile sig_atomic_t g_terminal_raw = 0;
int g_terminal_fd = -1;

void RestoreTerminal() {
  if (g_terminal_raw) {
    tcsetattr(g_terminal_fd, TCSADRAIN, &g_saved_termios);
    g_terminal_raw = 0;
  }
}

void OnFatalSignal(int sig) {
  RestoreTerminal();
  signal(sig, SIG_DFL);
  raise(sig);
}

// Keystrokes go to the remote terminal as they are typed (Ctrl-C included: it interrupts the
// remote program, not srun); the remote terminal echoes and edits.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) {
    termios raw;
    if (!isatty(fd) || tcgetattr(fd, &g_saved_termios) != 0) return;
    raw = g_saved_termios;
    cfmakeraw(&raw);
    g_terminal_fd = fd;
    static bool handlers = false;
    if (!handlers) {
      handlers = true;
      atexit(RestoreTerminal);
      struct sigaction sa {};
      sa.sa_handler = OnFatalSignal;
      sigemptyset(&sa.sa_mask);
      for (int sig : {SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
        sigaction(sig, &sa, nullptr);
      }
    }
    if (tcsetattr(fd, TCSADRAIN, &raw) == 0) g_terminal_raw = 1;
  }
  ~RawTerminal() { RestoreTerminal(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
};

// The size of the terminal srun runs in: stdin's, else stdout's; false when neither is one.
bool TerminalSize(uint32_t* rows, uint32_t* cols) {
  winsize ws{};
  for (int fd : {0, 1, 2}) {
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
      *rows = ws.ws_row;
      *cols = ws.ws_col;
      return true;
    }
  }
  return false;
}

void Sleep(int ms) { usleep(static_cast<useconds_t>(ms) * 1000); }

std::vector<std::string> Environ() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string RandomKey() {
  unsigned char bytes[16] = {};
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t ignored = read(fd, bytes, sizeof bytes);
    (void)ignored;
    close(fd);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<Job> FetchJob(const ApiClient& client, JobId id) {
  Result<Json> r = client.Get("/api/v1/jobs/" + std::to_string(id));
  if (!r.ok()) return r.status();
  return JobFromJson(*r);
}

void Relinquish(const ApiClient& client, JobId id, int exit_code, int signal) {
  client.Post("/api/v1/jobs/" + std::to_string(id) + "/complete",
              Json{{"exit_code", exit_code}, {"signal", signal}});
}

// How long a client waits for an allocation's powered-down nodes to boot. The controller itself
// gives up on a node after ResumeTimeout (the job then ends NODE_FAIL, which the wait sees); a
// node may first have to finish powering down (SuspendTimeout), as Slurm bounds salloc's wait.
int64_t BootWaitSeconds(const ApiClient& client) {
  int64_t resume = 60, suspend = 30;
  if (Result<Json> r = client.Get("/api/v1/config"); r.ok() && r->contains("config")) {
    const Json& config = (*r)["config"];
    auto read = [&](const char* key, int64_t* out) {
      if (!config.contains(key) || !(*config.find(key)).is_string()) return;
      const std::string text = (*config.find(key)).get<std::string>();
      if (auto n = ParseInt(text.substr(0, text.find(' '))); n && *n > 0) *out = *n;
    };
    read("ResumeTimeout", &resume);
    read("SuspendTimeout", &suspend);
  }
  return resume + suspend + 5;  // and a little for the registration to be seen
}

// Waits while job `id` is CONFIGURING (its powered-down nodes booting; power saving), as
// Slurm's salloc and srun wait for the nodes to be ready before they run anything. salloc says
// so; srun only with -v. Returns true once the job runs on ready nodes. Else prints why and
// returns false: the job ended (its nodes failed to resume), the wait passed ResumeTimeout, or
// a signal came; `owned` allocations (made by this command) are then relinquished.
bool WaitNodesReady(const std::string& prog, const ApiClient& client, JobId id, bool owned,
                    const SrunOptions& o) {
  const bool salloc = prog == "salloc";
  const unsigned long long n = id;
  Result<Job> job = FetchJob(client, id);
  if (!job.ok()) {
    fprintf(stderr, "%s: error: cannot read job %llu: %s\n", prog.c_str(), n,
            job.status().message().c_str());
    return false;
  }
  if (!job->configuring) return true;
  const std::string nodes = CompressHostlist(job->nodes);
  const bool say = salloc ? !o.quiet : o.verbose > 0;
  if (say) fprintf(stderr, "%s: Waiting for resource configuration\n", prog.c_str());
  const auto deadline = Clock::now() + std::chrono::seconds(BootWaitSeconds(client));
  auto not_ready = [&](const std::string& why) {
    if (salloc) {
      fprintf(stderr, "salloc: error: Nodes %s are still not ready: %s\n", nodes.c_str(),
              why.c_str());
    } else {
      fprintf(stderr, "srun: error: Something is wrong with the boot of the nodes %s: %s\n",
              nodes.c_str(), why.c_str());
    }
    if (owned) {
      fprintf(stderr,
              salloc ? "salloc: Job allocation %llu has been revoked.\n"
                     : "srun: Job allocation %llu has been revoked\n",
              n);
    }
    return false;
  };
  for (int delay = 50;; delay = std::min(delay * 2, 500)) {
    for (int slept = 0; slept < delay && g_interrupts == 0 && !g_terminate; slept += 10) Sleep(10);
    if (g_interrupts > 0 || g_terminate) {
      if (owned) Relinquish(client, id, 0, 0);
      not_ready("interrupted while the nodes were booting");
      if (salloc && owned) fputs("salloc: Job aborted due to signal\n", stderr);
      return false;
    }
    job = FetchJob(client, id);
    if (job.ok() && IsFinished(job->state)) {
      const bool reason = !job->reason.empty() && job->reason != "None";
      return not_ready("job " + std::to_string(id) + " ended " + JobStateName(job->state) +
                       (reason ? " (" + job->reason + ")" : "") +
                       " while they resumed (sinfo -R says why)");
    }
    if (job.ok() && job->state == JobState::kPending) {
      // Requeued (a batch job's failed resume): not an allocation any more.
      return not_ready("job " + std::to_string(id) + " is pending again (sinfo -R says why)");
    }
    if (job.ok() && !job->configuring) break;
    if (Clock::now() > deadline) {
      if (owned) Relinquish(client, id, 0, 0);
      return not_ready("not ready within ResumeTimeout (" +
                       std::to_string(BootWaitSeconds(client) - 5) + " s with SuspendTimeout)");
    }
  }
  if (say) fprintf(stderr, "%s: Nodes %s are ready for job\n", prog.c_str(), nodes.c_str());
  return true;
}

// Makes an interactive allocation for `o` and waits until it runs, printing what Slurm's
// salloc and srun print. Returns the job id, or the exit code to end with.
struct Allocation {
  JobId id = 0;
  int exit_code = 0;  // when id is 0
};

Allocation Allocate(const std::string& prog, const ApiClient& client, SrunOptions& o) {
  SubmitContext ctx;
  ctx.user = CurrentUser();
  ctx.cwd = CurrentDir();
  ctx.host = HostName();
  ctx.environ = Environ();
  SbatchOptions& a = o.alloc;
  JobRequest& req = a.submit.req;
  if (!a.submit_error.empty()) {
    fprintf(stderr, "%s: error: %s: %s\n", prog.c_str(),
            prog == "salloc" ? "Job submit/allocate failed" : "Unable to allocate resources",
            a.submit_error.c_str());
    return {0, 1};
  }
  if (req.name.empty()) {
    req.name = prog == "salloc" || o.command.empty() ? "interactive" : BaseName(o.command.front());
  }
  // sbatch's completion of the request (identity, directories, derived counts, GPUs); an
  // allocation has no script, so its "script" checks do not apply.
  if (auto err = FinishSbatchRequest(ctx, &a)) {
    std::string text = err->text;
    if (text.rfind("sbatch: ", 0) == 0) text = prog + text.substr(6);
    fputs(text.c_str(), stderr);
    return {0, err->exit_code};
  }
  req.interactive = true;
  req.requeue = false;
  req.command = o.command.empty() ? "" : o.command.front();
  a.submit.script.clear();
  a.submit.args.clear();
  Result<Json> answer = client.Post("/api/v1/jobs", SubmitRequestToJson(a.submit));
  if (!answer.ok()) {
    std::string msg = answer.status().message();
    if (size_t nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(nl + 1);
    fprintf(stderr, "%s: error: %s: %s\n", prog.c_str(),
            prog == "salloc" ? "Job submit/allocate failed" : "Unable to allocate resources",
            msg.c_str());
    return {0, 1};
  }
  const JobId id = (*answer).value("job_id", JobId{0});
  const bool salloc = prog == "salloc";
  // A start within the first moments is an immediate grant, as Slurm's is.
  auto deadline = Clock::now() + std::chrono::milliseconds(500);
  bool queued = false;
  for (int delay = 20;; delay = std::min(delay * 2, 500)) {
    Result<Job> job = FetchJob(client, id);
    if (job.ok() && job->state == JobState::kRunning) break;
    if (job.ok() && IsFinished(job->state)) {
      fprintf(stderr,
              salloc ? "salloc: Job allocation %llu has been revoked.\n"
                     : "srun: Job allocation %llu has been revoked\n",
              static_cast<unsigned long long>(id));
      return {0, 1};
    }
    if (g_interrupts > 0 || g_terminate) {
      client.Post("/api/v1/jobs/" + std::to_string(id) + "/complete", Json::object());
      if (salloc) {
        fprintf(stderr, "salloc: Job allocation %llu has been revoked.\n",
                static_cast<unsigned long long>(id));
        fputs("salloc: Job aborted due to signal\n", stderr);
      } else {
        fprintf(stderr, "srun: Job allocation %llu has been revoked\n",
                static_cast<unsigned long long>(id));
      }
      return {0, 1};
    }
    if (!queued && Clock::now() > deadline) {
      queued = true;
      if (salloc)
        fprintf(stderr, "salloc: Pending job allocation %llu\n",
                static_cast<unsigned long long>(id));
      if (!o.quiet) {
        fprintf(stderr, "%s: job %llu queued and waiting for resources\n", prog.c_str(),
                static_cast<unsigned long long>(id));
      }
    }
    Sleep(delay);
  }
  if (queued && !o.quiet) {
    fprintf(stderr, "%s: job %llu has been allocated resources\n", prog.c_str(),
            static_cast<unsigned long long>(id));
  }
  if (salloc)
    fprintf(stderr, "salloc: Granted job allocation %llu\n", static_cast<unsigned long long>(id));
  if (!WaitNodesReady(prog, client, id, /*owned=*/true, o)) return {0, 1};
  return {id, 0};
}

// --- srun's output collection -----------------------------------------------------------------

struct IoConn {
  int fd = -1;
  bool ready = false;  // the header was read and checked
  std::string header;
  uint32_t rank = 0;
  int stream = 1;  // 0 stdin, 1 stdout, 2 stderr, 3 exits, 4 node messages, 5 pty, 6 pty sizes
  std::string partial;        // an unfinished line, held until its end arrives; stdin: unsent data
  bool input_closed = false;  // stdin: srun's input ended and was passed on
};

class OutputCollector {
 public:
  OutputCollector(std::string key, bool label, bool unbuffered)
      : key_(std::move(key)), label_(label), unbuffered_(unbuffered) {}
  OutputCollector(const OutputCollector&) = delete;
  OutputCollector& operator=(const OutputCollector&) = delete;
  // Labels are as wide as the highest rank.
  void SetTasks(uint32_t ntasks) {
    width_ = static_cast<int>(std::to_string(ntasks > 0 ? ntasks - 1 : 0).size());
  }
  ~OutputCollector() {
    for (auto& c : conns_) close(c.fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  // Listens on every address, on a port the kernel picks. Returns the port, 0 on failure.
  uint16_t Listen() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof addr;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listen_fd_, 1024) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return 0;
    }
    return ntohs(addr.sin_port);
  }

  // srun's stdin (or an --input file) goes to the tasks that connect for it (stream 0), once
  // all `expected` of them have: none misses what came before it connected.
  // The fd stays blocking: it may be a terminal srun shares with its shell, and one read after
  // poll's POLLIN never blocks.
  void SetInput(int fd, uint32_t expected) {
    input_fd_ = fd;
    input_expected_ = expected;
  }

  // Serves the sockets for up to `ms`.
  void Poll(int ms) {
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : conns_) {
      short events = POLLIN;
      if (c.ready && TakesInput(c) && !c.partial.empty()) events |= POLLOUT;
      fds.push_back({c.fd, events, 0});
    }
    const bool read_input = ReadyForInput();
    if (read_input) fds.push_back({input_fd_, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), ms);
    if (n <= 0) return;
    const size_t polled = conns_.size();  // those accepted now come at the end, unpolled
    if (fds[0].revents & POLLIN) AcceptAll();
    std::vector<size_t> closed;
    for (size_t i = 1; i <= polled; ++i) {
      IoConn& c = conns_[i - 1];
      if ((fds[i].revents & POLLOUT) && !WriteInput(c)) {
        closed.push_back(i - 1);
        continue;
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!ReadFrom(c)) closed.push_back(i - 1);
      }
    }
    if (read_input && (fds.back().revents & (POLLIN | POLLHUP | POLLERR))) ReadInput();
    for (auto it = closed.rbegin(); it != closed.rend(); ++it) {
      Flush(conns_[*it], /*closing=*/true);
      close(conns_[*it].fd);
      conns_.erase(conns_.begin() + static_cast<long>(*it));
    }
    WriteTails();
    if (input_eof_) {
      for (auto& c : conns_) {
        if (c.ready && TakesInput(c) && c.partial.empty() && !c.input_closed) {
          shutdown(c.fd, SHUT_WR);  // the task reads its end of input
          c.input_closed = true;
        }
      }
    }
  }

  void AcceptAll() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      IoConn c;
      c.fd = fd;
      conns_.push_back(std::move(c));
    }
  }

  // The step is over: whatever is still held goes out.
  void FlushAll() {
    for (auto& c : conns_) Flush(c, /*closing=*/true);
    WriteTails();
  }

  bool Idle() const { return conns_.empty(); }
  // srun ended the step itself on Ctrl-C: the nodes' "*** STEP ... CANCELLED ***" line is not
  // shown (Slurm's srun shows none then).
  void QuietCancel() { quiet_cancel_ = true; }

  // srun --pty: the terminal's new size, to the node that holds it.
  void SendWindowSize(uint32_t rows, uint32_t cols) {
    rows_ = rows;
    cols_ = cols;
    for (auto& c : conns_) {
      if (c.ready && c.stream == 6) WriteWindowSize(c);
    }
  }
  // Failed tasks, as their supervisors reported them (stream 3).
  const std::vector<TaskExit>& exits() const { return exits_; }

 private:
  // False when the connection is over.
  bool ReadFrom(IoConn& c) {
    char buf[65536];
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    if (c.ready && (c.stream == 0 || c.stream == 6)) return true;  // nothing comes this way
    std::string_view data(buf, static_cast<size_t>(n));
    if (!c.ready) {
      c.header.append(data);
      size_t nl = c.header.find('\n');
      if (nl == std::string::npos) return c.header.size() < 256;
      char key[128] = {};
      unsigned rank = 0;
      int stream = 0;
      if (std::sscanf(c.header.c_str(), "SHOAL-IO %127s %u %d", key, &rank, &stream) != 3 ||
          key_ != key || stream < 0 || stream > 6) {
        return false;  // not one of our tasks
      }
      c.ready = true;
      c.rank = rank;
      c.stream = stream;
      if (stream == 0 || stream == 5) {
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        ++input_connected_;
      }
      if (stream == 6) {
        c.header.clear();
        if (rows_ > 0) WriteWindowSize(c);  // it may have changed since the step was asked for
        return true;
      }
      if (stream == 0) {
        c.header.clear();
        return true;
      }
      std::string rest = c.header.substr(nl + 1);
      c.header.clear();
      Emit(c, rest);
      return true;
    }
    Emit(c, data);
    return true;
  }

  void Emit(IoConn& c, std::string_view data) {
    if (c.stream == 3) {  // "exit NODE RANK STATUS" lines, never shown as they are
      c.partial.append(data);
      size_t nl;
      while ((nl = c.partial.find('\n')) != std::string::npos) {
        char node[256] = {};
        unsigned rank = 0;
        int status = 0;
        if (std::sscanf(c.partial.substr(0, nl).c_str(), "exit %255s %u %d", node, &rank,
                        &status) == 3) {
          exits_.push_back({node, rank, status});
        }
        c.partial.erase(0, nl + 1);
      }
      return;
    }
    FILE* out = c.stream == 1 || c.stream == 5 ? stdout : stderr;
    if (c.stream == 5) {  // the terminal's bytes, as they come
      fwrite(data.data(), 1, data.size(), stdout);
      fflush(stdout);
      return;
    }
    if (c.stream == 4) {  // the node's own messages ("slurmstepd: error: ..."), never labelled
      if (quiet_cancel_ && data.find(" CANCELLED AT ") != std::string_view::npos) return;
      fwrite(data.data(), 1, data.size(), stderr);
      fflush(stderr);
      return;
    }
    if (unbuffered_ && !label_) {
      fwrite(data.data(), 1, data.size(), out);
      fflush(out);
      return;
    }
    // Whole lines only, so that tasks writing at once never split each other's lines.
    c.partial.append(data);
    size_t start = 0, nl;
    while ((nl = c.partial.find('\n', start)) != std::string::npos) {
      if (label_) fprintf(out, "%*u: ", width_, c.rank);
      fwrite(c.partial.data() + start, 1, nl + 1 - start, out);
      start = nl + 1;
    }
    c.partial.erase(0, start);
    if (c.partial.size() > kMaxHeldLine) Flush(c);  // a line without end: memory stays bounded
    fflush(out);
  }

  // Writes out what is left of a task's unfinished line; labelled output gets its newline.
  // Unlabelled, the last words of a task that ended (`closing`) wait in tails_ until no other
  // task is midway through a line on that stream, so they never end up inside its line.
  void Flush(IoConn& c, bool closing = false) {
    if (c.partial.empty() || c.stream == 3 || TakesInput(c) || c.stream == 6) return;
    FILE* out = c.stream == 1 ? stdout : stderr;
    if (label_) {
      fprintf(out, "%*u: %s\n", width_, c.rank, c.partial.c_str());
    } else if (closing) {
      tails_[c.stream == 1 ? 0 : 1] += c.partial;
    } else {
      fwrite(c.partial.data(), 1, c.partial.size(), out);
    }
    c.partial.clear();
    fflush(out);
  }

  void WriteTails() {
    for (int s = 0; s < 2; ++s) {
      if (tails_[s].empty()) continue;
      const int stream = s + 1;
      bool midway = false;
      for (const auto& c : conns_) midway = midway || (c.stream == stream && !c.partial.empty());
      if (midway) continue;
      FILE* out = stream == 1 ? stdout : stderr;
      fwrite(tails_[s].data(), 1, tails_[s].size(), out);
      fflush(out);
      tails_[s].clear();
    }
  }

  bool ReadyForInput() const {
    if (input_fd_ < 0 || input_eof_ || input_connected_ < input_expected_) return false;
    for (const auto& c : conns_) {
      if (TakesInput(c) && c.partial.size() > kMaxHeldInput) return false;  // a slow reader
    }
    return true;
  }

  void ReadInput() {
    char buf[65536];
    ssize_t n = read(input_fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      input_eof_ = true;
      return;
    }
    for (auto& c : conns_) {
      if (c.ready && TakesInput(c)) c.partial.append(buf, static_cast<size_t>(n));
    }
  }

  // False when the task's stdin is gone (it exited); what it did not read is dropped.
  bool WriteInput(IoConn& c) {
    ssize_t n = write(c.fd, c.partial.data(), c.partial.size());
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.partial.erase(0, static_cast<size_t>(n));
    return true;
  }

  // Connections that srun's input goes to: a task's stdin, or the --pty terminal.
  static bool TakesInput(const IoConn& c) { return c.stream == 0 || c.stream == 5; }

  void WriteWindowSize(IoConn& c) {
    const std::string line =
        "winsize " + std::to_string(rows_) + " " + std::to_string(cols_) + "\n";
    ssize_t ignored = send(c.fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;  // a few bytes on an idle socket; a lost size only leaves the old one
  }

  static constexpr size_t kMaxHeldLine = 1 << 20;
  static constexpr size_t kMaxHeldInput = 1 << 20;
  std::string tails_[2];  // stdout, stderr: unfinished last lines of tasks that ended
  int input_fd_ = -1;
  uint32_t input_expected_ = 0;
  uint32_t input_connected_ = 0;
  bool input_eof_ = false;
  std::string key_;
  bool label_;
  bool unbuffered_;
  int width_ = 1;
  uint32_t rows_ = 0, cols_ = 0;  // the terminal's size, for --pty
  bool quiet_cancel_ = false;
  int listen_fd_ = -1;
  std::vector<IoConn> conns_;
  std::vector<TaskExit> exits_;
};

// The cluster's KillWait (Slurm's default when the controller does not say).
int KillWaitOf(const ApiClient& client) {
  Result<Json> r = client.Get("/api/v1/config");
  if (r.ok() && r->contains("config") && (*r)["config"].is_object()) {
    const Json& config = (*r)["config"];
    if (auto it = config.find("KillWait"); it != config.end()) {
      if (it->is_number_integer()) return it->get<int>();
      if (it->is_string()) {  // "30 sec", as scontrol show config prints it
        const std::string text = it->get<std::string>();
        auto n = ParseCount(text.substr(0, text.find(' ')));
        if (n && *n < 100000) return static_cast<int>(*n);
      }
    }
  }
  return 30;
}

// Runs one step of allocation `job_id` and returns srun's exit code.
int RunStep(const ApiClient& client, JobId job_id, SrunOptions& o) {
  const std::string job = std::to_string(job_id);
  // The allocation's size, from the variables srun finds in it, as Slurm checks it.
  if (o.nodes_set && o.jobid.empty()) {
    auto nnodes = GetEnv("SLURM_JOB_NUM_NODES");
    if (!nnodes) nnodes = GetEnv("SLURM_NNODES");
    if (nnodes) {
      auto have = ParseCount(*nnodes);
      if (have && *have < o.step.nodes) {
        fprintf(stderr, "srun: error: Only allocated %llu nodes asked for %u\n",
                static_cast<unsigned long long>(*have), o.step.nodes);
        return 1;
      }
    }
  }
  StepRequest& step = o.step;
  const std::string key = RandomKey();
  OutputCollector io(key, o.label, o.unbuffered);
  const uint16_t port = io.Listen();
  if (port == 0) {
    fprintf(stderr, "srun: error: cannot listen for task output: %s\n", strerror(errno));
    return 1;
  }
  step.argv = o.command;
  step.env = Environ();
  if (step.work_dir.empty()) step.work_dir = CurrentDir();
  if (step.work_dir[0] != '/') step.work_dir = CurrentDir() + "/" + step.work_dir;
  step.io_host = GetEnv("SHOAL_SRUN_HOST").value_or(HostName());
  step.io_port = port;
  step.io_key = key;
  // What the tasks read: srun's stdin, unless it is a terminal srun does not hold (a
  // background srun must not be stopped by SIGTTIN), or the --input file.
  int input_fd = -1;
  if (o.pty) {
    uint32_t rows = 0, cols = 0;
    if (TerminalSize(&rows, &cols)) {
      step.pty_rows = rows;
      step.pty_cols = cols;
      io.SendWindowSize(rows, cols);
    }
  }
  if (!o.input_file.empty()) {
    input_fd = open(o.input_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (input_fd < 0) {
      fprintf(stderr, "srun: error: Could not open stdin file: %s\n", strerror(errno));
      return 1;
    }
  } else if (step.input != "none") {
    const bool background_tty = isatty(0) && tcgetpgrp(0) != getpgrp();
    if (!background_tty && fcntl(0, F_GETFD) >= 0) input_fd = 0;
  }
  if (input_fd < 0 && step.input != "none") step.input = "none";
  const bool pty_input = o.pty && step.input != "none";
  if (o.pty) step.input = "none";
  // A step whose resources other steps hold waits for them, as Slurm's srun retries.
  const Json request = StepRequestToJson(step);
  Result<Json> created = client.Post("/api/v1/jobs/" + job + "/steps", request);
  bool waited = false;
  for (int delay = 50; !created.ok() && created.status().code() == StatusCode::kUnavailable &&
                       created.status().message() == "Requested nodes are busy";
       delay = std::min(delay * 2, 500)) {
    if (!waited && !o.quiet) {
      fprintf(stderr, "srun: Job %s step creation temporarily disabled, retrying (%s)\n",
              job.c_str(), created.status().message().c_str());
    }
    waited = true;
    for (int slept = 0; slept < delay && g_interrupts == 0 && !g_terminate; slept += 10) Sleep(10);
    if (g_interrupts > 0 || g_terminate) {
      fprintf(stderr, "srun: Cancelled pending job step with signal %d\n",
              g_interrupts > 0 ? SIGINT : SIGTERM);
      return 1;
    }
    created = client.Post("/api/v1/jobs/" + job + "/steps", request);
  }
  if (!created.ok()) {
    fprintf(stderr, "srun: error: Unable to create step for job %s: %s\n", job.c_str(),
            created.status().message().c_str());
    return 1;
  }
  Result<Step> started = StepFromJson(*created);
  if (!started.ok()) {
    fprintf(stderr, "srun: error: %s\n", started.status().message().c_str());
    return 1;
  }
  if (waited && !o.quiet) {
    fprintf(stderr, "srun: Step created for StepId=%s.%u\n", job.c_str(), started->step_id);
  }
  io.SetTasks(started->ntasks);
  if (pty_input) {
    io.SetInput(input_fd, 1);  // the terminal's connection
  } else if (step.input == "all") {
    io.SetInput(input_fd, started->ntasks);
  } else if (step.input != "none") {
    io.SetInput(input_fd, 1);
  }
  const std::string step_path =
      "/api/v1/jobs/" + job + "/steps/" + std::to_string(started->step_id);
  const std::string step_name = job + "." + std::to_string(started->step_id);
  Step last = *started;
  auto next_check = Clock::now();
  // Every Ctrl-C before this point ended srun, except those that came while the step was being
  // created: its tasks may already run, so they count as the step's.
  int seen_interrupts = 0;
  InterruptState interrupt_state;
  bool interrupted = false;  // srun sent the tasks SIGINT or ended them on Ctrl-C
  bool terminated = false;
  // Keystrokes pass to the terminal of task 0 as they are typed, while the step runs.
  std::optional<RawTerminal> raw;
  if (pty_input && input_fd == 0 && isatty(0)) raw.emplace(0);
  const auto start = Clock::now();
  std::optional<Clock::time_point> completing_since;
  Clock::duration completing_limit{};
  for (;;) {
    io.Poll(100);
    if (g_window_changed) {
      g_window_changed = 0;
      uint32_t rows = 0, cols = 0;
      if (o.pty && TerminalSize(&rows, &cols)) io.SendWindowSize(rows, cols);
    }
    bool abandon = false;
    for (; seen_interrupts < g_interrupts; ++seen_interrupts) {
      const int64_t now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      switch (NextInterruptAction(interrupt_state, now_ms, o.disable_status, o.quit_on_interrupt)) {
        case InterruptAction::kStatus:
          fputs("srun: interrupt (one more within 1 sec to abort)\n", stderr);
          fprintf(stderr, "%s\n", TaskStatusLine(step_name, last.ntasks).c_str());
          break;
        case InterruptAction::kInterrupt:
          fprintf(stderr, "srun: sending Ctrl-C to StepId=%s\n", step_name.c_str());
          client.Post(step_path + "/signal", Json{{"signal", SIGINT}});
          [[fallthrough]];
        case InterruptAction::kForce:
          // Then the termination sequence: SIGCONT and SIGTERM now, SIGKILL after KillWait.
          fputs("srun: forcing job termination\n", stderr);
          io.QuietCancel();
          client.Post(step_path + "/signal", Json{{"signal", 0}});
          fprintf(stderr,
                  "srun: Job step aborted: Waiting up to %d seconds for job step to finish.\n",
                  KillWaitOf(client) + 2);
          interrupted = true;
          break;
        case InterruptAction::kAbandon:
          fputs("srun: job abort in progress\n", stderr);
          abandon = true;
          break;
      }
    }
    if (abandon) {
      // Without waiting for the tasks or their output, as Slurm's srun on a third Ctrl-C.
      raw.reset();
      io.FlushAll();
      return 128 + SIGINT;
    }
    if (g_terminate && !terminated) {
      terminated = true;
      client.Post(step_path + "/signal", Json{{"signal", 0}});
    }
    if (Clock::now() < next_check) continue;
    next_check = Clock::now() + std::chrono::milliseconds(200);
    Result<Json> r = client.Get(step_path);
    if (!r.ok()) continue;
    Result<Step> now = StepFromJson(*r);
    if (!now.ok()) continue;
    last = *now;
    if (last.state == JobState::kRunning) continue;
    // Ended. Its exit status is final once every node has reported its tasks' end (a cancelled
    // step's tasks may take the kill wait to die), or at most the kill wait and a margin later
    // when a node never reports.
    if (!last.completing) break;
    if (!completing_since) {
      completing_since = Clock::now();
      completing_limit = std::chrono::seconds(KillWaitOf(client) + 2);
    }
    if (Clock::now() - *completing_since > completing_limit) break;
  }
  // Over: what the tasks wrote is already queued on their sockets; read it to the end (their
  // supervisors have killed whatever held the sockets open).
  auto deadline = Clock::now() + std::chrono::seconds(3);
  io.AcceptAll();
  while (!io.Idle() && Clock::now() < deadline) io.Poll(100);
  io.FlushAll();
  raw.reset();  // srun's own lines below need the terminal as it was
  if ((last.state == JobState::kCancelled || last.state == JobState::kTimeout) && !interrupted &&
      !terminated) {
    fprintf(stderr, "srun: Job step aborted: Waiting up to %d seconds for job step to finish.\n",
            KillWaitOf(client) + 2);
  }
  // Tasks srun stopped itself (Ctrl-C, SIGTERM) are no error of theirs.
  for (const std::string& line : TaskExitLines(io.exits(), !interrupted && !terminated)) {
    fprintf(stderr, "%s\n", line.c_str());
  }
  if (last.exit_signal != 0) return 128 + last.exit_signal;
  return last.exit_code;
}

struct Common {
  std::string prog;
  SrunOptions options;
  int exit_code = -1;  // >= 0: end now with this
};

Common Parse(const std::string& prog, int argc, char** argv) {
  Common c;
  c.prog = prog;
  auto parsed = ParseSrunCommandLine(prog, ArgsOf(argc, argv), NowEpoch());
  if (auto* err = std::get_if<CliError>(&parsed)) {
    c.exit_code = ReportError(*err);
    return c;
  }
  c.options = std::move(std::get<SrunOptions>(parsed));
  if (c.options.help) {
    fputs(SrunHelpText(prog).c_str(), stdout);
    c.exit_code = 0;
  } else if (c.options.usage) {
    fputs(SrunUsageText(prog).c_str(), stdout);
    c.exit_code = 0;
  } else if (c.options.version) {
    fputs(kVersionLine, stdout);
    c.exit_code = 0;
  }
  return c;
}

void InstallHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnTerminate;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = OnWindowChange;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// What salloc runs without a command, as Slurm's: the user's login shell from the passwords
// database (then $SHELL, then /bin/sh).
std::string UserShell() {
  if (const passwd* pw = getpwuid(getuid());
      pw != nullptr && pw->pw_shell != nullptr && pw->pw_shell[0] == '/') {
    return pw->pw_shell;
  }
  return GetEnv("SHELL").value_or("/bin/sh");
}

// The variables salloc's command gets: the job's, less what only a task or a batch script has.
void ExportAllocation(const ApiClient& client, JobId id) {
  Result<Json> env = client.Get("/api/v1/jobs/" + std::to_string(id) + "/env");
  if (!env.ok() || !env->contains("env")) return;
  static const char* const kSkip[] = {"ENVIRONMENT=",   "SLURM_NODEID=", "SLURM_PROCID=",
                                      "SLURM_LOCALID=", "SLURM_GTIDS=",  "SLURM_TOPOLOGY_ADDR"};
  for (const Json& kv : (*env)["env"]) {
    if (!kv.is_string()) continue;
    const std::string text = kv.get<std::string>();
    bool skip = false;
    for (const char* prefix : kSkip) skip = skip || text.rfind(prefix, 0) == 0;
    size_t eq = text.find('=');
    if (skip || eq == std::string::npos) continue;
    setenv(text.substr(0, eq).c_str(), text.substr(eq + 1).c_str(), 1);
  }
}

}  // namespace

int SrunMain(int argc, char** argv) {
  Common c = Parse("srun", argc, argv);
  if (c.exit_code >= 0) return c.exit_code;
  SrunOptions& o = c.options;
  if (o.command.empty()) {
    fputs("srun: fatal: No command given to execute.\n", stderr);
    return 1;
  }
  if (GetEnv("SLURM_DISABLE_STATUS")) o.disable_status = true;
  if (o.step.container != ContainerSpec{}) {
    // Checked before any allocation is made; relative paths against the step's directory.
    std::string dir = o.step.work_dir.empty() ? CurrentDir() : o.step.work_dir;
    if (dir[0] != '/') dir = CurrentDir() + "/" + dir;
    if (auto err = FinishContainerSpec(dir, &o.step.container)) {
      fputs(("srun" + err->text.substr(6)).c_str(), stderr);
      return err->exit_code;
    }
  }
  InstallHandlers();
  ApiClient client = ApiClient::FromEnvironment();
  std::string inside = o.jobid;
  if (inside.empty()) inside = GetEnv("SLURM_JOB_ID").value_or("");
  if (!inside.empty()) {
    auto id = ParseCount(inside);
    if (!id || *id == 0) {
      fprintf(stderr, "srun: error: Invalid job id specified: %s\n", inside.c_str());
      return 1;
    }
    // Inside salloc or a batch job the allocation's nodes are up already (both wait for them):
    // only an allocation named with --jobid may still be CONFIGURING.
    if (!o.jobid.empty() && !WaitNodesReady("srun", client, *id, /*owned=*/false, o)) return 1;
    return RunStep(client, *id, o);
  }
  Allocation a = Allocate("srun", client, o);
  if (a.id == 0) return a.exit_code;
  // The step fills the allocation made for it: its counts are already the job's.
  o.step.nodes = 0;
  o.step.nodelist.clear();
  int rc = RunStep(client, a.id, o);
  Relinquish(client, a.id, rc > 128 ? 0 : rc, rc > 128 ? rc - 128 : 0);
  return rc;
}

int SallocMain(int argc, char** argv) {
  Common c = Parse("salloc", argc, argv);
  if (c.exit_code >= 0) return c.exit_code;
  SrunOptions& o = c.options;
  InstallHandlers();
  ApiClient client = ApiClient::FromEnvironment();
  Allocation a = Allocate("salloc", client, o);
  if (a.id == 0) return a.exit_code;
  std::vector<std::string> command = o.command;
  if (command.empty()) command.push_back(UserShell());
  ExportAllocation(client, a.id);
  // While the command runs it owns the terminal's signals; salloc only waits for it.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    std::vector<char*> args;
    for (std::string& s : command) args.push_back(s.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    fprintf(stderr, "salloc: error: %s: %s\n", args[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int status = 0;
  bool revoked = false;
  auto next_check = Clock::now() + std::chrono::seconds(1);
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (!revoked && Clock::now() >= next_check) {
      next_check = Clock::now() + std::chrono::seconds(1);
      Result<Job> job = FetchJob(client, a.id);
      if (job.ok() && IsFinished(job->state)) {
        revoked = true;
        fprintf(stderr, "salloc: Job allocation %llu has been revoked.\n",
                static_cast<unsigned long long>(a.id));
        kill(pid, SIGHUP);
      }
    }
    Sleep(50);
  }
  int rc = WIFEXITED(status)     ? WEXITSTATUS(status)
           : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                 : 1;
  if (!revoked) {
    fprintf(stderr, "salloc: Relinquishing job allocation %llu\n",
            static_cast<unsigned long long>(a.id));
    Relinquish(client, a.id, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
               WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  return rc;
}

}  // namespace shoal
