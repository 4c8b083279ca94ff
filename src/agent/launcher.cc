#include "agent/launcher.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "agent/job_files.h"
#include "agent/pidfd.h"
#include "agent/supervisor.h"

extern char** environ;

namespace shoal::agent {
namespace {

// The launcher's answer to one request; the pidfd travels as SCM_RIGHTS.
struct Reply {
  int32_t error = 0;  // errno; 0 when a supervisor was started
  int32_t pid = 0;
};

// The fd the launcher finds its socket on.
constexpr int kLauncherFd = 3;

void SendReply(int fd, const Reply& reply, int pidfd) {
  iovec iov{const_cast<Reply*>(&reply), sizeof reply};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pidfd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
  }
  while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// In the forked child: become the supervisor SpawnSupervisor would have started.
[[noreturn]] void BecomeSupervisor(const std::string& exe, const std::string& dir, char* args,
                                   size_t args_size, int log_fd, const sigset_t& mask,
                                   int ready_fd) {
  // The command line first: it is how a restarted agent recognises a supervisor.
  std::memset(args, 0, args_size);
  std::memcpy(args, exe.data(), exe.size());
  std::memcpy(args + exe.size() + 1, dir.data(), dir.size());
  setsid();
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  // Only now may the agent hear of it, as posix_spawn returns only once the exec is done.
  char ready = 1;
  ssize_t ignored = write(ready_fd, &ready, 1);
  (void)ignored;
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd > 0) {
    dup2(null_fd, 0);
    close(null_fd);
  }
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  // RunSupervisor closes every other descriptor (the launcher's socket among them).
  _exit(RunSupervisor(dir));
}

}  // namespace

int RunLauncher(int fd, char* args, size_t args_size) {
  const std::string exe = args;  // argv[0]
  // Whatever else the agent leaked (a lock, a gRPC socket) must not live on in the launcher.
  if (fd >= 3) {
    close_range(3, static_cast<unsigned>(fd) - 1, 0);
    close_range(static_cast<unsigned>(fd) + 1, ~0U, 0);
  }
  // What the agent's spawn blocked (the supervisors' request signals) is what each child gets.
  sigset_t inherited, chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &inherited);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return 1;
  char buf[PATH_MAX + 1];
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the agent is gone
    std::string dir(buf, static_cast<size_t>(n));
    Reply reply;
    if (dir.empty() || dir[0] != '/' || dir.find('\0') != std::string::npos) {
      reply.error = EINVAL;
    } else if (exe.size() + 1 + dir.size() + 1 > args_size) {
      reply.error = ENAMETOOLONG;
    }
    int log_fd = -1;
    if (reply.error == 0) {
      std::string log = dir + "/" + kSupervisorLogFile;
      log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (log_fd < 0) reply.error = errno;
    }
    int pidfd = -1;
    int ready[2] = {-1, -1};
    if (reply.error == 0 && pipe2(ready, O_CLOEXEC) != 0) reply.error = errno;
    if (reply.error == 0) {
      pid_t pid = fork();
      int fork_errno = errno;
      if (pid == 0) BecomeSupervisor(exe, dir, args, args_size, log_fd, inherited, ready[1]);
      close(ready[1]);
      char byte;
      ssize_t got = 0;
      if (pid > 0) {
        do {
          got = read(ready[0], &byte, 1);
        } while (got < 0 && errno == EINTR);
      }
      close(ready[0]);
      if (pid < 0) {
        reply.error = fork_errno;
      } else if (got != 1) {
        reply.error = ECHILD;  // it died before it was ready
      } else {
        // Before any reaping: the pidfd then surely names this child.
        pidfd = PidfdOpen(pid);
        if (pidfd < 0) {
          reply.error = errno;
          kill(pid, SIGKILL);
        } else {
          reply.pid = pid;
        }
      }
    }
    if (log_fd >= 0) close(log_fd);
    SendReply(fd, reply, pidfd);
    if (pidfd >= 0) close(pidfd);
  }
}

SupervisorLauncher::~SupervisorLauncher() { StopLauncher(); }

void SupervisorLauncher::StopLauncher() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = 0;
}

Status SupervisorLauncher::StartLauncher() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  // The same session and signal state as SpawnSupervisor gives a supervisor: the children
  // inherit it.
  InitSupervisorSpawnAttr(&attr);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // dup2 onto a different number clears close-on-exec; sv[1] itself may be kLauncherFd.
  int high = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  posix_spawn_file_actions_adddup2(&actions, high, kLauncherFd);

  // Room for each child's command line, "<exe> <job dir>".
  std::string exe = exe_, flag = "--launcher", fd_arg = std::to_string(kLauncherFd);
  std::string pad(PATH_MAX, ' ');
  char* argv[] = {exe.data(), flag.data(), fd_arg.data(), pad.data(), nullptr};
  pid_t pid = 0;
  int rc = high < 0 ? errno : posix_spawn(&pid, exe.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (high >= 0) close(high);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    return Internal("could not start " + exe_ + " --launcher: " + std::strerror(rc));
  }
  fd_ = sv[0];
  pid_ = pid;
  return Status::Ok();
}

Result<SupervisorLauncher::Started> SupervisorLauncher::Launch(const std::string& dir) {
  // A launcher that died (killed, or the executable replaced by an upgrade) is started again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0) {
      if (Status st = StartLauncher(); !st.ok()) return st;
    }
    ssize_t sent;
    do {
      sent = send(fd_, dir.data(), dir.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      StopLauncher();
      continue;
    }
    Reply reply;
    iovec iov{&reply, sizeof reply};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof reply)) {
      // The launcher died with the request: whether it forked is unknown, so this is not
      // retried (the supervisor, if any, would run twice).
      StopLauncher();
      return Internal("the supervisor launcher ended");
    }
    int pidfd = -1;
    if (cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&pidfd, CMSG_DATA(c), sizeof(int));
    }
    if (reply.error != 0 || pidfd < 0) {
      if (pidfd >= 0) close(pidfd);
      return Internal("could not start a supervisor for " + dir + ": " +
                      std::strerror(reply.error != 0 ? reply.error : EPROTO));
    }
    return Started{reply.pid, pidfd};
  }
  return Internal("the supervisor launcher does not answer");
}

}  // namespace shoal::agent
