// The public API's HTTP/1.1 server: one handler, served on a Unix socket and on TCP
// (libmicrohttpd, a pool of event-loop threads; a handler may block until its write is durable).
// A response may also be a stream (server-sent events): its connection is parked while it has
// nothing to send, so an open stream holds no thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

struct MHD_Connection;
struct MHD_Daemon;

namespace shoal {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct HttpRequest {
  std::string method;
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded
  std::string body;
  std::optional<PeerCredentials> peer;  // set on the Unix socket (SO_PEERCRED)
  std::string remote_address;           // TCP: the client's IP address (rate limits)
  // The few request headers the routes use (Host, Origin, If-None-Match, Authorization).
  std::map<std::string, std::string> headers;
};

// The body of a streamed response: chunks queued by any thread, written as the client reads.
// The queue is bounded, so a slow or vanished client costs a fixed amount of memory and never
// blocks the thread that pushes; what does not fit is dropped and counted, and `overflow_chunk`
// (if set) is sent once the queue has drained, so the client knows it missed something.
class HttpStream {
 public:
  explicit HttpStream(size_t max_bytes, std::string overflow_chunk = "");
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Queues a chunk; false when it was dropped (queue full) or the stream is over.
  bool Push(std::shared_ptr<const std::string> chunk);
  bool Push(std::string chunk) {
    return Push(std::make_shared<const std::string>(std::move(chunk)));
  }
  // Ends the response once the queued chunks are written.
  void Finish();
  // True once the client went away or Finish was called: the owner may forget the stream.
  bool done() const;
  // True once the connection is gone (the server no longer touches the stream).
  bool detached() const;
  uint64_t dropped() const;
  size_t queued_bytes() const;

  // Internal, for the server: fill `buf` or park the connection until Push.
  long Read(MHD_Connection* conn, char* buf, size_t max);
  void Detach();

 private:
  void WakeLocked();

  const size_t max_bytes_;
  const std::string overflow_chunk_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t front_offset_ = 0;  // bytes of queue_.front() already written
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
  bool overflowed_ = false;  // the overflow chunk is owed
  bool finished_ = false;
  bool detached_ = false;             // the connection is gone
  MHD_Connection* parked_ = nullptr;  // suspended, waiting for a chunk
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status_code, std::string body_text, std::string type = "application/json")
      : status(status_code), body(std::move(body_text)), content_type(std::move(type)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // added as they are
  std::shared_ptr<HttpStream> stream;                        // set: body is ignored
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // `threads` event-loop threads per listener (a handler may block one of them).
  explicit HttpServer(Handler handler, unsigned threads = 16);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves on a Unix socket at `path` (replacing a stale socket file), mode 0666.
  Status ListenUnix(const std::string& path);
  // Serves on TCP `address`:`port`; port 0 picks a free one (see tcp_port()).
  Status ListenTcp(const std::string& address, uint16_t port);
  uint16_t tcp_port() const { return tcp_port_; }
  // Ends the open streams, stops accepting and waits for connection threads to finish.
  void Stop();
  // Open streams (for tests and benchmarks).
  size_t open_streams() const;

  // Internal: called by the libmicrohttpd callbacks.
  const Handler& handler() const { return handler_; }
  void TrackStream(const std::shared_ptr<HttpStream>& stream);

 private:
  // One listening socket: its own thread accepts and hands each connection to one of the
  // daemon's event-loop threads.
  struct Listener {
    int fd = -1;
    MHD_Daemon* daemon = nullptr;
    std::thread acceptor;
  };
  Status Start(int listen_fd);
  static void AcceptLoop(const Listener& listener);

  Handler handler_;
  unsigned threads_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  uint16_t tcp_port_ = 0;
  mutable std::mutex streams_mu_;
  std::vector<std::weak_ptr<HttpStream>> streams_;
};

}  // namespace shoal
