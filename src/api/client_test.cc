#include "api/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace shoal {
namespace {

// A one-connection HTTP server on a temporary Unix socket (or TCP loopback port). It reads the
// request until the end of its body, records it, and answers with `reply` verbatim.
class TinyServer {
 public:
  enum class Mode { kAnswer, kSilent };

  explicit TinyServer(std::string reply, bool tcp = false, Mode mode = Mode::kAnswer)
      : reply_(std::move(reply)), mode_(mode) {
    if (tcp) {
      listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = 0;
      EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
      socklen_t len = sizeof(a);
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
      endpoint_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    } else {
      char tmpl[] = "/tmp/shoal_client_test_XXXXXX";
      dir_ = mkdtemp(tmpl);
      path_ = dir_ + "/controller.sock";
      listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
      EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
      endpoint_ = "unix:" + path_;
    }
    EXPECT_EQ(listen(listen_fd_, 4), 0);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TinyServer() {
    thread_.join();
    close(listen_fd_);
    if (!path_.empty()) unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

  const std::string& endpoint() const { return endpoint_; }
  // The request as received (valid after the client call returned).
  const std::string& request() const { return request_; }

 private:
  void Serve() {
    int c = accept(listen_fd_, nullptr, nullptr);
    if (c < 0) return;
    if (mode_ == Mode::kSilent) {
      // Hold the connection open without answering until the client gives up.
      char b[4096];
      while (read(c, b, sizeof(b)) > 0) {
      }
      close(c);
      return;
    }
    char buf[4096];
    for (;;) {
      size_t he = request_.find("\r\n\r\n");
      if (he != std::string::npos) {
        size_t cl = request_.find("Content-Length: ");
        size_t want = he + 4;
        if (cl != std::string::npos && cl < he) want += std::stoul(request_.substr(cl + 16));
        if (request_.size() >= want) break;
      }
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    // Dribble the answer in two parts to exercise reassembly. A client that has seen enough
    // may have gone: no SIGPIPE for that.
    auto send_all = [&](const char* data, size_t size) {
      while (size > 0) {
        ssize_t n = send(c, data, size, MSG_NOSIGNAL);
        if (n <= 0) return;
        data += n;
        size -= static_cast<size_t>(n);
      }
    };
    size_t half = reply_.size() / 2;
    send_all(reply_.data(), half);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    send_all(reply_.data() + half, reply_.size() - half);
    close(c);
  }

  std::string reply_;
  Mode mode_;
  std::string dir_, path_, endpoint_;
  int listen_fd_ = -1;
  std::string request_;
  std::thread thread_;
};

std::string HttpReply(int code, const std::string& body, bool with_length = true) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Type: application/json\r\n";
  if (with_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "Connection: close\r\n\r\n" + body;
}

TEST(ApiClientTest, GetParsesBodyAndSendsConnectionClose) {
  TinyServer server(HttpReply(200, R"({"status":"ok","cluster_name":"c1"})"));
  ApiClient client(server.endpoint());
  Result<Json> r = client.Get("/api/v1/health");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["cluster_name"], "c1");
  EXPECT_TRUE(server.request().starts_with("GET /api/v1/health HTTP/1.1\r\n"));
  EXPECT_NE(server.request().find("Connection: close\r\n"), std::string::npos);
}

TEST(ApiClientTest, PostSendsJsonBodyWithContentLength) {
  TinyServer server(HttpReply(201, R"({"job_id":42})"));
  ApiClient client(server.endpoint());
  Json body = {{"script", "#!/bin/sh\ntrue\n"}};
  Result<Json> r = client.Post("/api/v1/jobs", body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["job_id"], 42);
  const std::string& req = server.request();
  EXPECT_TRUE(req.starts_with("POST /api/v1/jobs HTTP/1.1\r\n"));
  std::string payload = body.dump();
  EXPECT_NE(req.find("Content-Length: " + std::to_string(payload.size()) + "\r\n"),
            std::string::npos);
  EXPECT_TRUE(req.ends_with("\r\n\r\n" + payload));
}

TEST(ApiClientTest, ReadsBodyToEofWithoutContentLength) {
  TinyServer server(HttpReply(200, R"({"jobs":[]})", /*with_length=*/false));
  Result<Json> r = ApiClient(server.endpoint()).Get("/api/v1/jobs");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE((*r)["jobs"].is_array());
}

TEST(ApiClientTest, ALargeAnswerArrivesWhole) {
  std::string body = "[\"" + std::string(size_t{3} << 20, 'x') + "\",1]";
  body[1000] = '\n';  // any bytes, in place
  TinyServer server(HttpReply(200, body));
  Result<ResponseBody> r = ApiClient(server.endpoint()).CallRaw("GET", "/api/v1/jobs");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->text() == body);
}

TEST(ApiClientTest, AnAnswerCutShortIsAnError) {
  std::string reply = HttpReply(200, R"({"jobs":[1,2,3]})");
  reply.resize(reply.size() - 3);
  TinyServer server(reply);
  Result<ResponseBody> r = ApiClient(server.endpoint()).CallRaw("GET", "/api/v1/jobs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "Zero Bytes were transmitted or received");
}

TEST(ApiClientTest, ALengthBeyondBeliefIsRefused) {
  {
    TinyServer server("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n[]");
    Result<ResponseBody> r = ApiClient(server.endpoint()).CallRaw("GET", "/api/v1/jobs");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "controller announced an answer of 99999999999999 bytes");
  }
  TinyServer server("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n[]");
  Result<ResponseBody> r = ApiClient(server.endpoint()).CallRaw("GET", "/api/v1/jobs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "malformed HTTP response from controller");
}

TEST(ApiClientTest, ErrorDocumentBecomesStatus) {
  TinyServer server(
      HttpReply(400, ErrorToJson(InvalidArgument("Invalid partition name specified")).dump()));
  Result<Json> r = ApiClient(server.endpoint()).Post("/api/v1/jobs", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "Invalid partition name specified");
}

TEST(ApiClientTest, ErrorWithoutDocumentIsInternal) {
  TinyServer server(HttpReply(500, "oops"));
  Result<Json> r = ApiClient(server.endpoint()).Get("/api/v1/jobs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ApiClientTest, WorksOverTcp) {
  TinyServer server(HttpReply(200, R"({"nodes":[]})"), /*tcp=*/true);
  Result<Json> r = ApiClient(server.endpoint()).Get("/api/v1/nodes");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE((*r)["nodes"].is_array());
}

TEST(ApiClientTest, MissingSocketFailsAtOnce) {
  auto t0 = std::chrono::steady_clock::now();
  Result<Json> r = ApiClient("unix:/nonexistent/shoal/controller.sock").Get("/api/v1/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "Unable to contact slurm controller (connect failure)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
}

TEST(ApiClientTest, StaleSocketIsRefusedAtOnce) {
  // A socket file left behind by a dead controller: bound, never listening.
  char tmpl[] = "/tmp/shoal_client_test_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/controller.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  close(fd);
  auto t0 = std::chrono::steady_clock::now();
  Result<Json> r = ApiClient("unix:" + path).Get("/api/v1/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "Unable to contact slurm controller (connect failure)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST(ApiClientTest, RefusedTcpPortFailsAtOnce) {
  // Bind a port, then close it so nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  Result<Json> r =
      ApiClient("127.0.0.1:" + std::to_string(ntohs(a.sin_port))).Get("/api/v1/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(ApiClientTest, SilentServerTimesOut) {
  TinyServer server("", /*tcp=*/false, TinyServer::Mode::kSilent);
  auto t0 = std::chrono::steady_clock::now();
  Result<Json> r = ApiClient(server.endpoint()).Call("GET", "/api/v1/jobs", nullptr, 100);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "Socket timed out on send/recv operation");
  // The answer wait is five times the connect timeout.
  EXPECT_GE(elapsed, std::chrono::milliseconds(450));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
}

TEST(ApiClientTest, EndpointFromEnvironment) {
  setenv("SHOAL_CONTROLLER", "unix:/x/y.sock", 1);
  EXPECT_EQ(ApiClient::FromEnvironment().endpoint(), "unix:/x/y.sock");
  unsetenv("SHOAL_CONTROLLER");
  setenv("SHOAL_STATE_DIR", "/state", 1);
  EXPECT_EQ(DefaultStateDir(), "/state");
  EXPECT_EQ(ApiClient::FromEnvironment().endpoint(), "unix:/state/controller.sock");
  unsetenv("SHOAL_STATE_DIR");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultStateDir(), "/home/u/.local/share/shoal");
}

// --- several controllers (high availability) ---------------------------------------------------

TEST(ApiClientTest, EndpointListsAreSplitOnCommas) {
  EXPECT_EQ(ApiClient("unix:/a.sock").Endpoints(), (std::vector<std::string>{"unix:/a.sock"}));
  EXPECT_EQ(ApiClient("ctl1:6820, ctl2:6820,,").Endpoints(),
            (std::vector<std::string>{"ctl1:6820", "ctl2:6820"}));
  EXPECT_TRUE(ApiClient("").Endpoints().empty());
}

TEST(ApiClientTest, SeveralControllersSkipTheUnreachableAndTheStandby) {
  TinyServer standby(HttpReply(
      503, R"({"error":{"code":"UNAVAILABLE","message":"controller ctl2 is a standby; the leader )"
           R"(is ctl3 at x:1"},"standby":{"name":"ctl2"}})"));
  TinyServer leader(HttpReply(200, R"({"job_id":7})"));
  ApiClient client("unix:/nonexistent/shoal.sock," + standby.endpoint() + "," + leader.endpoint());
  Result<Json> r = client.Post("/api/v1/jobs", Json{{"script", "x"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["job_id"], 7);
  EXPECT_NE(standby.request().find("POST /api/v1/jobs"), std::string::npos);
  EXPECT_NE(leader.request().find("POST /api/v1/jobs"), std::string::npos);
}

TEST(ApiClientTest, OnlyStandbysGiveTheStandbysError) {
  TinyServer standby(HttpReply(
      503, R"({"error":{"code":"UNAVAILABLE","message":"controller ctl2 is a standby; no )"
           R"(controller leads at the moment"},"standby":{"name":"ctl2"}})"));
  Result<Json> r = ApiClient("unix:/nonexistent/a.sock," + standby.endpoint()).Get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "controller ctl2 is a standby; no controller leads at the moment");
}

TEST(ApiClientTest, ARequestThatWasSentIsNotSentAgainElsewhere) {
  // The first controller takes the request and dies before answering: it may have acted, so
  // the second (unreachable here: a call to it would fail differently) is not tried.
  TinyServer dying("");
  Result<Json> r =
      ApiClient(dying.endpoint() + ",unix:/nonexistent/b.sock").Post("/api/v1/jobs", Json{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Zero Bytes were transmitted or received");
  // An error that is not a standby's is final too.
  TinyServer refusing(
      HttpReply(400, R"({"error":{"code":"INVALID_ARGUMENT","message":"bad script"}})"));
  r = ApiClient(refusing.endpoint() + ",unix:/nonexistent/b.sock").Post("/api/v1/jobs", Json{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bad script");
}

TEST(UrlEncodeTest, KeepsUnreservedAndCommas) {
  EXPECT_EQ(UrlEncode("a-b_c.d~e,f"), "a-b_c.d~e,f");
  EXPECT_EQ(UrlEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

}  // namespace
}  // namespace shoal
