// The public API's HTTP/1.1 server: one handler, served on a Unix socket and on TCP
// (libmicrohttpd, a thread per connection so a handler may block until its write is durable).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

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
  std::optional<PeerCredentials> peer;       // set on the Unix socket (SO_PEERCRED)
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
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
  // Stops accepting and waits for connection threads to finish.
  void Stop();

  // Internal: called by the libmicrohttpd callbacks.
  const Handler& handler() const { return handler_; }

 private:
  Status Start(int listen_fd, bool is_unix);

  Handler handler_;
  unsigned threads_;
  std::vector<MHD_Daemon*> daemons_;
  uint16_t tcp_port_ = 0;
};

}  // namespace shoal
