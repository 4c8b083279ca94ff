#include "api/client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "common/prefault.h"

namespace shoal {
namespace {

constexpr char kConnectFailure[] = "Unable to contact slurm controller (connect failure)";
// Slurm's wording when a connected peer stops answering.
constexpr char kRecvTimeout[] = "Socket timed out on send/recv operation";

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or `deadline_ms` passes. False on timeout.
bool WaitFor(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

// Connects `fd` (already non-blocking) to `addr`, waiting at most until `deadline_ms`.
Status ConnectWithDeadline(int fd, const sockaddr* addr, socklen_t len, int64_t deadline_ms) {
  int r;
  do {
    r = connect(fd, addr, len);
  } while (r != 0 && errno == EINTR);
  if (r == 0) return Status::Ok();
  if (errno == EAGAIN && addr->sa_family == AF_UNIX) {
    // A Unix socket whose backlog is full answers EAGAIN instead of "in progress"; the
    // controller is alive but busy, so retry until the deadline.
    while (NowMs() < deadline_ms) {
      usleep(1000);
      if (connect(fd, addr, len) == 0) return Status::Ok();
      if (errno != EAGAIN && errno != EINTR) break;
    }
    return Unavailable(kConnectFailure);
  }
  if (errno != EINPROGRESS) return Unavailable(kConnectFailure);
  if (!WaitFor(fd, POLLOUT, deadline_ms)) return Unavailable(kConnectFailure);
  int err = 0;
  socklen_t elen = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
    return Unavailable(kConnectFailure);
  }
  return Status::Ok();
}

// Opens a connected, non-blocking socket to `endpoint`: "unix:/path" or "host:port".
Result<int> Dial(const std::string& endpoint, int64_t deadline_ms) {
  std::string_view ep = endpoint;
  if (ep.starts_with("unix:")) {
    std::string_view path = ep.substr(5);
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
      return Unavailable(kConnectFailure);
    }
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.data(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Unavailable(kConnectFailure);
    Status s =
        ConnectWithDeadline(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr), deadline_ms);
    if (!s.ok()) {
      close(fd);
      return s;
    }
    return fd;
  }
  if (ep.starts_with("http://")) ep.remove_prefix(7);
  if (ep.starts_with("tcp:")) ep.remove_prefix(4);
  while (ep.ends_with('/')) ep.remove_suffix(1);
  size_t colon = ep.rfind(':');
  if (colon == std::string_view::npos) return Unavailable(kConnectFailure);
  std::string host(ep.substr(0, colon));
  std::string port(ep.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) {
    return Unavailable(kConnectFailure);
  }
  Status last = Unavailable(kConnectFailure);
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    last = ConnectWithDeadline(fd, ai->ai_addr, ai->ai_addrlen, deadline_ms);
    if (last.ok()) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return last;
  return fd;
}

Status SendAll(int fd, std::string_view data, int64_t io_timeout_ms) {
  int64_t deadline = NowMs() + io_timeout_ms;
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      deadline = NowMs() + io_timeout_ms;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return Unavailable(kRecvTimeout);
      continue;
    }
    return Unavailable(kConnectFailure);
  }
  return Status::Ok();
}

// An answer's status line and headers.
struct ResponseHead {
  int status = 0;
  int64_t content_length = -1;  // -1: absent (the body runs to the end of the stream)
};

// Parses the head of an answer: `head` is everything before the blank line that ends it.
Result<ResponseHead> ParseHead(std::string_view head) {
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  size_t sp = status_line.find(' ');
  if (!status_line.starts_with("HTTP/") || sp == std::string_view::npos) {
    return Internal("malformed HTTP response from controller");
  }
  ResponseHead out;
  std::string code(status_line.substr(sp + 1, 3));
  out.status = atoi(code.c_str());
  if (out.status < 100 || out.status > 599) {
    return Internal("malformed HTTP response from controller");
  }
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    size_t c = line.find(':');
    if (c == std::string_view::npos) continue;
    std::string_view key = line.substr(0, c);
    std::string_view value = line.substr(c + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    if (key.size() == 14 && strncasecmp(key.data(), "content-length", 14) == 0) {
      int64_t n = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || n < 0) return Internal("malformed HTTP response from controller");
      out.content_length = n;
    }
  }
  return out;
}

// Receives into [into, into + room): the bytes received, 0 at the end of the stream. Waits at
// most io_timeout_ms for them.
Result<size_t> ReceiveSome(int fd, char* into, size_t room, int64_t io_timeout_ms) {
  const int64_t deadline = NowMs() + io_timeout_ms;
  for (;;) {
    ssize_t n = recv(fd, into, room, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Unavailable(kConnectFailure);
    if (!WaitFor(fd, POLLIN, deadline)) return Unavailable(kRecvTimeout);
  }
}

// Slurm's words for an answer cut short.
constexpr char kCutShort[] = "Zero Bytes were transmitted or received";

// Beyond this an announced length is not believed (and would not fit in memory anyway).
constexpr int64_t kLargestAnswer = int64_t{1} << 34;

}  // namespace

std::string DefaultStateDir() {
  if (const char* d = getenv("SHOAL_STATE_DIR"); d != nullptr && *d != '\0') return d;
  const char* home = getenv("HOME");
  std::string h;
  if (home != nullptr && *home != '\0') {
    h = home;
  } else if (passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    h = pw->pw_dir;
  } else {
    h = "/tmp";
  }
  return h + "/.local/share/shoal";
}

ApiClient ApiClient::FromEnvironment() {
  if (const char* c = getenv("SHOAL_CONTROLLER"); c != nullptr && *c != '\0') {
    const char* token = getenv("SLURM_JWT");
    return ApiClient(c, token != nullptr ? token : "");
  }
  const std::string own = DefaultStateDir() + "/controller.sock";
  // A packaged controller (shoal-controller.service) on this host, when the user has no
  // cluster of their own here.
  const char* state = getenv("SHOAL_STATE_DIR");
  struct stat st;
  if ((state == nullptr || *state == '\0') && stat(own.c_str(), &st) != 0 &&
      stat(kSystemControllerSocket, &st) == 0) {
    return ApiClient(std::string("unix:") + kSystemControllerSocket);
  }
  return ApiClient("unix:" + own);
}

Result<Json> ApiClient::Call(std::string_view method, std::string_view path, const Json& body,
                             int timeout_ms) const {
  Result<ResponseBody> raw = CallRaw(method, path, body, timeout_ms);
  if (!raw.ok()) return raw.status();
  if (raw->empty()) return Json::object();
  Json doc = Json::parse(raw->text(), nullptr, false);
  if (doc.is_discarded()) return Internal("malformed JSON in controller response");
  return doc;
}

std::vector<std::string> ApiClient::Endpoints() const {
  std::vector<std::string> out;
  std::string_view rest = endpoint_;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

Result<ResponseBody> ApiClient::CallRaw(std::string_view method, std::string_view path,
                                        const Json& body, int timeout_ms) const {
  // One controller: no list to walk (the common case costs nothing more).
  if (endpoint_.find(',') == std::string::npos) {
    return CallOne(endpoint_, method, path, body, timeout_ms, nullptr);
  }
  // Several (high availability): the first that is reached and is not a standby. A request
  // that was sent is never sent again elsewhere: its answer may have been lost after it acted.
  Status last = Unavailable(kConnectFailure);
  for (const std::string& endpoint : Endpoints()) {
    bool try_next = false;
    Result<ResponseBody> r = CallOne(endpoint, method, path, body,
                                     timeout_ms > 0 ? std::min(timeout_ms, 1000) : 1000, &try_next);
    if (r.ok() || !try_next) return r;
    last = r.status();
  }
  return last;
}

Result<ResponseBody> ApiClient::CallOne(const std::string& endpoint, std::string_view method,
                                        std::string_view path, const Json& body, int timeout_ms,
                                        bool* try_next) const {
  if (timeout_ms <= 0) timeout_ms = 2000;
  const bool send_token = !token_.empty() && endpoint.rfind("unix:", 0) != 0;
  if (send_token && token_.find_first_of("\r\n") != std::string::npos) {
    return InvalidArgument("SLURM_JWT holds a line break: not a token");
  }
  // Reaching the controller is bounded by timeout_ms; once connected, a busy controller gets
  // five times that between bytes (10 s by default, Slurm's MessageTimeout).
  const int64_t io_timeout_ms = int64_t{timeout_ms} * 5;
  Result<int> dialed = Dial(endpoint, NowMs() + timeout_ms);
  if (!dialed.ok()) {
    if (try_next != nullptr) *try_next = true;  // nothing was sent
    return dialed.status();
  }
  Fd fd(*dialed);

  std::string payload = body.is_null() ? std::string() : body.dump();
  std::string req;
  req.reserve(160 + path.size() + payload.size());
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  req.append("Host: localhost\r\nConnection: close\r\nAccept: application/json\r\n");
  if (!body.is_null()) req.append("Content-Type: application/json\r\n");
  if (send_token) req.append("Authorization: Bearer ").append(token_).append("\r\n");
  if (!body.is_null() || method == "POST" || method == "PUT") {
    req.append("Content-Length: ").append(std::to_string(payload.size())).append("\r\n");
  }
  req.append("\r\n").append(payload);
  if (Status s = SendAll(fd.get(), req, io_timeout_ms); !s.ok()) return s;

  // The head, and whatever of the body came with it.
  std::string raw;
  char buf[65536];
  size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    Result<size_t> n = ReceiveSome(fd.get(), buf, sizeof(buf), io_timeout_ms);
    if (!n.ok()) return n.status();  // quiet too long, or the connection failed
    if (*n == 0) {
      return raw.empty() ? Unavailable(kCutShort)
                         : Internal("malformed HTTP response from controller");
    }
    const size_t searched = raw.size() < 3 ? 0 : raw.size() - 3;
    raw.append(buf, *n);
    head_end = raw.find("\r\n\r\n", searched);
  }
  Result<ResponseHead> head = ParseHead(std::string_view(raw).substr(0, head_end));
  if (!head.ok()) return head.status();
  const size_t body_begin = head_end + 4;
  std::string_view early = std::string_view(raw).substr(body_begin);
  if (head->content_length > kLargestAnswer) {
    return Internal("controller announced an answer of " + std::to_string(head->content_length) +
                    " bytes");
  }
  const bool success = head->status >= 200 && head->status < 300;
  if (success && head->content_length >= 0) {
    ResponseBody answer;
    const auto size = static_cast<size_t>(head->content_length);
    // Faulted in with one call (a page fault costs microseconds here) on huge pages, and filled
    // from a small buffer that stays in cache: the kernel's copy straight into fresh memory
    // measured ~13 ms more CPU per 8 MB than this copy.
    answer.data_ = AllocateForWrite(size);
    answer.size_ = std::min(early.size(), size);
    memcpy(answer.data_.get(), early.data(), answer.size_);
    while (answer.size_ < size) {
      Result<size_t> n = ReceiveSome(fd.get(), buf, sizeof(buf), io_timeout_ms);
      if (!n.ok()) return n.status();
      if (*n == 0) return Unavailable(kCutShort);
      const size_t take = std::min(*n, size - answer.size_);
      memcpy(answer.data_.get() + answer.size_, buf, take);
      answer.size_ += take;
    }
    return answer;
  }
  // An error's document, or a body whose end is the end of the stream: all of it.
  std::string rest(early);
  for (;;) {
    if (head->content_length >= 0 && rest.size() >= static_cast<size_t>(head->content_length)) {
      rest.resize(static_cast<size_t>(head->content_length));
      break;
    }
    Result<size_t> n = ReceiveSome(fd.get(), buf, sizeof(buf), io_timeout_ms);
    if (!n.ok() || *n == 0) {
      if (head->content_length >= 0) return Unavailable(kCutShort);
      break;  // the end of the stream ends a body of no announced length
    }
    rest.append(buf, *n);
  }
  if (success) return ResponseBody(rest);
  Json doc = rest.empty() ? Json::object() : Json::parse(rest, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("error")) {
    // A standby acts on nothing: the request may go to the next controller.
    if (try_next != nullptr && head->status == 503 && doc.contains("standby")) *try_next = true;
    Status s = ErrorFromJson(doc);
    if (!s.ok()) return s;
  }
  return Internal("controller answered HTTP " + std::to_string(head->status));
}

ResponseBody::ResponseBody(std::string_view text)
    : data_(AllocateForWrite(text.size())), size_(text.size()) {
  memcpy(data_.get(), text.data(), text.size());
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    // Unreserved characters pass; ',' too, as it separates the lists in query values.
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace shoal
