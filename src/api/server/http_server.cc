#include "api/server/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace shoal {
namespace {

// Per-request state kept by libmicrohttpd between its callbacks.
struct RequestState {
  std::string body;
  bool too_large = false;
};

constexpr size_t kMaxBody = 64 * 1024 * 1024;

MHD_Result CollectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::map<std::string, std::string>*>(cls);
  (*query)[key] = value ? value : "";
  return MHD_YES;
}

// Keeps a stream alive for as long as libmicrohttpd's response does.
struct StreamHolder {
  std::shared_ptr<HttpStream> stream;
  MHD_Connection* conn;
};

ssize_t ReadStream(void* cls, uint64_t, char* buf, size_t max) {
  auto* h = static_cast<StreamHolder*>(cls);
  return static_cast<ssize_t>(h->stream->Read(h->conn, buf, max));
}

void FreeStream(void* cls) {
  auto* h = static_cast<StreamHolder*>(cls);
  h->stream->Detach();
  delete h;
}

MHD_Result Send(HttpServer* server, MHD_Connection* conn, HttpResponse r) {
  if (r.stream) {
    server->TrackStream(r.stream);
    auto* holder = new StreamHolder{r.stream, conn};
    MHD_Response* resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, &ReadStream,
                                                           holder, &FreeStream);
    MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
    for (const auto& [k, v] : r.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
    // A quiet stream is parked, not timed out; a dead peer shows when a write fails.
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    MHD_Result ret = MHD_queue_response(conn, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
  }
  // The body is handed over, not copied: a listing of 100,000 jobs is several megabytes.
  auto* body = new std::string(std::move(r.body));
  MHD_Response* resp = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, body);
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  for (const auto& [k, v] : r.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
  MHD_Result ret = MHD_queue_response(conn, r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

MHD_Result OnRequest(void* cls, MHD_Connection* conn, const char* url, const char* method,
                     const char*, const char* upload_data, size_t* upload_size, void** con_cls) {
  auto* server = static_cast<HttpServer*>(cls);
  if (*con_cls == nullptr) {
    *con_cls = new RequestState();
    return MHD_YES;
  }
  auto* state = static_cast<RequestState*>(*con_cls);
  if (*upload_size > 0) {
    if (state->body.size() + *upload_size > kMaxBody) {
      state->too_large = true;
    } else {
      state->body.append(upload_data, *upload_size);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (state->too_large) {
    return Send(
        server, conn,
        {413, R"({"error":{"code":"INVALID_ARGUMENT","message":"request body too large"}})"});
  }
  HttpRequest req;
  req.method = method;
  req.path = url;
  req.body = std::move(state->body);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, CollectQuery, &req.query);
  for (const char* name : {"Host", "Origin", "If-None-Match", "Authorization"}) {
    if (const char* v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name)) {
      req.headers[name] = v;
    }
  }
  const MHD_ConnectionInfo* info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info != nullptr) {
    struct ucred cred {};
    socklen_t len = sizeof(cred);
    sockaddr_storage addr{};
    socklen_t alen = sizeof(addr);
    if (getsockname(info->connect_fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 &&
        addr.ss_family == AF_UNIX &&
        getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      req.peer = PeerCredentials{cred.pid, cred.uid, cred.gid};
    } else if ((alen = sizeof(addr)) != 0 &&
               getpeername(info->connect_fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* ip =
          addr.ss_family == AF_INET6
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr);
      if (inet_ntop(addr.ss_family, ip, text, sizeof text) != nullptr) req.remote_address = text;
    }
  }
  HttpResponse resp = server->handler()(req);
  return Send(server, conn, std::move(resp));
}

void OnCompleted(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<RequestState*>(*con_cls);
  *con_cls = nullptr;
}

Status Errno(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

}  // namespace

HttpStream::HttpStream(size_t max_bytes, std::string overflow_chunk)
    : max_bytes_(max_bytes), overflow_chunk_(std::move(overflow_chunk)) {}
HttpStream::~HttpStream() = default;

bool HttpStream::Push(std::shared_ptr<const std::string> chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || detached_) return false;
  if (bytes_ + chunk->size() > max_bytes_) {
    ++dropped_;
    overflowed_ = true;
    return false;
  }
  bytes_ += chunk->size();
  queue_.push_back(std::move(chunk));
  WakeLocked();
  return true;
}

void HttpStream::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  WakeLocked();
}

bool HttpStream::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_ || detached_;
}

bool HttpStream::detached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return detached_;
}

uint64_t HttpStream::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

size_t HttpStream::queued_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

void HttpStream::WakeLocked() {
  // Resumed only after it was suspended (both under mu_), so the order is always right.
  if (parked_ != nullptr) {
    MHD_resume_connection(parked_);
    parked_ = nullptr;
  }
}

long HttpStream::Read(MHD_Connection* conn, char* buf, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  // The overflow notice goes out once what was queued before it has been written.
  auto owe_notice = [&] {
    if (queue_.empty() && overflowed_ && !overflow_chunk_.empty() && !finished_) {
      overflowed_ = false;
      queue_.push_back(std::make_shared<const std::string>(overflow_chunk_));
      bytes_ += overflow_chunk_.size();
    }
  };
  owe_notice();
  size_t n = 0;
  while (n < max && !queue_.empty()) {
    const std::string& front = *queue_.front();
    const size_t take = std::min(max - n, front.size() - front_offset_);
    std::memcpy(buf + n, front.data() + front_offset_, take);
    n += take;
    front_offset_ += take;
    if (front_offset_ == front.size()) {
      bytes_ -= front.size();
      queue_.pop_front();
      front_offset_ = 0;
      owe_notice();
    }
  }
  if (n > 0) return static_cast<long>(n);
  if (finished_) return MHD_CONTENT_READER_END_OF_STREAM;
  // Nothing to send: park the connection instead of being polled again at once; Push wakes it.
  parked_ = conn;
  MHD_suspend_connection(conn);
  return 0;
}

void HttpStream::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  detached_ = true;
  parked_ = nullptr;
  queue_.clear();
  bytes_ = 0;
}

HttpServer::HttpServer(Handler handler, unsigned threads)
    : handler_(std::move(handler)), threads_(threads) {}
HttpServer::~HttpServer() { Stop(); }

Status HttpServer::ListenUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    Status s = Errno("listen on " + path);
    close(fd);
    return s;
  }
  chmod(path.c_str(), 0666);
  return Start(fd);
}

Status HttpServer::ListenTcp(const std::string& address, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return InvalidArgument("bad listen address " + address);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    Status s = Errno("listen on " + address + ":" + std::to_string(port));
    close(fd);
    return s;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  tcp_port_ = ntohs(addr.sin_port);
  return Start(fd);
}

Status HttpServer::Start(int listen_fd) {
  // A fixed pool of event-loop threads: a handler may block (a submission waits for its
  // group commit) without a thread being created and destroyed for every connection, which
  // cost more than the request itself for the one-shot connections the commands make.
  // libmicrohttpd's pool threads would each watch the listening socket, and every connection
  // would wake all of them (15 of 16 for nothing). So one thread of ours accepts, and
  // MHD_add_connection wakes just the event loop that takes the connection.
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
  MHD_Daemon* d = MHD_start_daemon(flags, 0, nullptr, nullptr, &OnRequest, this,
                                   MHD_OPTION_THREAD_POOL_SIZE, threads_,
                                   MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
  if (d == nullptr) {
    close(listen_fd);
    return Internal("could not start HTTP server");
  }
  auto listener = std::make_unique<Listener>();
  listener->fd = listen_fd;
  listener->daemon = d;
  listener->acceptor = std::thread(&HttpServer::AcceptLoop, std::cref(*listener));
  listeners_.push_back(std::move(listener));
  return Status::Ok();
}

void HttpServer::AcceptLoop(const Listener& listener) {
  pthread_setname_np(pthread_self(), "http-accept");
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd >= 0) {
      // On failure libmicrohttpd has closed the socket: the client sees the connection end.
      MHD_add_connection(listener.daemon, fd, reinterpret_cast<sockaddr*>(&addr), len);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of descriptors or memory: the connection waits in the backlog until some close.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    return;  // EINVAL: Stop() shut the socket down
  }
}

void HttpServer::TrackStream(const std::shared_ptr<HttpStream>& stream) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  std::erase_if(streams_, [](const std::weak_ptr<HttpStream>& w) {
    auto s = w.lock();
    return !s || s->done();
  });
  streams_.push_back(stream);
}

size_t HttpServer::open_streams() const {
  std::lock_guard<std::mutex> lock(streams_mu_);
  size_t n = 0;
  for (const auto& w : streams_) {
    if (auto s = w.lock(); s && !s->done()) ++n;
  }
  return n;
}

void HttpServer::Stop() {
  // libmicrohttpd must not be stopped with parked connections: end every stream first and give
  // the connections a moment to close.
  std::vector<std::shared_ptr<HttpStream>> live;
  {
    std::lock_guard<std::mutex> lock(streams_mu_);
    for (const auto& w : streams_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    streams_.clear();
  }
  for (auto& s : live) s->Finish();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (auto& s : live) {
    while (!s->detached() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  live.clear();
  for (auto& l : listeners_) {
    shutdown(l->fd, SHUT_RDWR);  // ends a blocked accept4 with EINVAL
    if (l->acceptor.joinable()) l->acceptor.join();
    MHD_stop_daemon(l->daemon);
    close(l->fd);
  }
  listeners_.clear();
}

}  // namespace shoal
