#include "controller/cluster_events.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "controller/dashboard_routes.h"

namespace shoal {
namespace {

// What is queued on a stream, without a connection (only called while something is queued).
std::string Drain(HttpStream& s) {
  std::string out;
  char buf[4096];
  while (s.queued_bytes() > 0) {
    long n = s.Read(nullptr, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Job MakeJob(JobId id, JobState state) {
  Job j;
  j.id = id;
  j.state = state;
  j.req.name = "j" + std::to_string(id);
  j.req.work_dir = "/tmp";
  return j;
}

Node MakeNode(const std::string& name) {
  Node n;
  n.name = name;
  n.cpus = 4;
  n.responding = true;
  return n;
}

TEST(ClusterEvents, GreetsThenSendsJobEvents) {
  ClusterEvents events;
  auto s = events.Subscribe();
  ASSERT_NE(s, nullptr);
  EXPECT_NE(Drain(*s).find("event: hello"), std::string::npos);
  events.OnJob(MakeJob(7, JobState::kRunning), "started");
  std::string text = Drain(*s);
  EXPECT_NE(text.find("event: job\ndata: {\"job_id\":7,\"state\":\"RUNNING\""), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 2), "\n\n");
}

TEST(ClusterEvents, NotableEventsGoToTheTimelineEvenWithoutListeners) {
  ClusterEventsOptions o;
  o.max_timeline = 3;
  ClusterEvents events(o);
  events.OnJob(MakeJob(1, JobState::kPending), "submitted");  // not notable
  for (JobId id = 2; id <= 6; ++id) events.OnJob(MakeJob(id, JobState::kFailed), "finished");
  Json t = Json::parse(events.Timeline());
  ASSERT_EQ(t["events"].size(), 3u);
  EXPECT_EQ(t["events"][0]["job_id"], "4");
  EXPECT_EQ(t["events"][2]["severity"], "error");
}

TEST(ClusterEvents, SlowClientLosesEventsAndIsToldToResync) {
  ClusterEventsOptions o;
  o.stream_queue_bytes = 4096;
  ClusterEvents events(o);
  auto s = events.Subscribe();
  for (JobId id = 1; id <= 50; ++id) events.OnJob(MakeJob(id, JobState::kPending), "submitted");
  EXPECT_GT(s->dropped(), 0u);
  EXPECT_LE(s->queued_bytes(), 4096u);
  std::string text = Drain(*s);
  EXPECT_NE(text.find("event: resync"), std::string::npos);
  // Once drained, events flow again.
  events.OnJob(MakeJob(99, JobState::kPending), "submitted");
  EXPECT_NE(Drain(*s).find("\"job_id\":99"), std::string::npos);
}

TEST(ClusterEvents, RefusesStreamsBeyondTheLimitAndForgetsFinishedOnes) {
  ClusterEventsOptions o;
  o.max_streams = 2;
  ClusterEvents events(o);
  auto a = events.Subscribe();
  auto b = events.Subscribe();
  EXPECT_EQ(events.Subscribe(), nullptr);
  a->Finish();
  EXPECT_NE(events.Subscribe(), nullptr);
  EXPECT_EQ(events.streams(), 2u);
}

TEST(ClusterEvents, SendsOnlyTheNodesThatChanged) {
  ClusterEvents events;
  std::vector<Node> nodes = {MakeNode("a"), MakeNode("b"), MakeNode("c")};
  events.OnNodes(nodes);  // remembered before anyone listens
  auto s = events.Subscribe();
  Drain(*s);
  nodes[1].alloc_cpus = 2;
  events.OnNodes(nodes);
  std::string text = Drain(*s);
  EXPECT_NE(text.find("\"name\":\"b\""), std::string::npos);
  EXPECT_EQ(text.find("\"name\":\"a\""), std::string::npos);
  events.OnNodes(nodes);
  EXPECT_EQ(s->queued_bytes(), 0u);
}

TEST(ClusterEvents, KeepsOneSamplePerInterval) {
  ClusterEventsOptions o;
  o.max_samples = 3;
  ClusterEvents events(o);
  for (int i = 0; i < 10; ++i) {
    ClusterSnapshot snap;
    snap.taken_at = 1000 + i;  // one a second: every other one kept
    snap.queue_length = i;
    snap.cpus = 8;
    events.OnSnapshot(snap);
  }
  Json h = Json::parse(events.History());
  ASSERT_EQ(h["samples"].size(), 3u);
  EXPECT_EQ(h["samples"][2][0], 1008.0);
  EXPECT_EQ(h["samples"][2][1], 8);
  EXPECT_EQ(Json::parse(events.History(1006))["samples"].size(), 1u);
}

TEST(DashboardRoutes, OutputPathFollowsTheLaunch) {
  Job j = MakeJob(12, JobState::kRunning);
  j.req.work_dir = "/w";
  EXPECT_EQ(JobOutputPath(j, false), "/w/slurm-12.out");
  EXPECT_EQ(JobOutputPath(j, true), "/w/slurm-12.out");
  j.req.stdout_pattern = "out-%j-%x.txt";
  j.req.stderr_pattern = "/logs/%j.err";
  EXPECT_EQ(JobOutputPath(j, false), "/w/out-12-j12.txt");
  EXPECT_EQ(JobOutputPath(j, true), "/logs/12.err");
}

// --- the HTTP server's streams ---

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until `needle` shows up (or the 5 s receive timeout).
std::string ReadUntil(int fd, const std::string& needle) {
  std::string got;
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(HttpServerStreams, ParkedStreamsHoldNoThread) {
  std::vector<std::shared_ptr<HttpStream>> streams;
  std::mutex mu;
  HttpServer server(
      [&](const HttpRequest& r) {
        if (r.path == "/stream") {
          HttpResponse resp;
          resp.content_type = "text/event-stream";
          resp.stream = std::make_shared<HttpStream>(1 << 16);
          resp.stream->Push(std::string("hello\n"));
          std::lock_guard<std::mutex> lock(mu);
          streams.push_back(resp.stream);
          return resp;
        }
        return HttpResponse(200, "{\"ok\":true}");
      },
      /*threads=*/2);
  ASSERT_TRUE(server.ListenTcp("127.0.0.1", 0).ok());
  // Ten times as many open streams as threads.
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(server.tcp_port());
    std::string req = "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n";
    ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    EXPECT_NE(ReadUntil(fd, "hello").find("text/event-stream"), std::string::npos);
    fds.push_back(fd);
  }
  // An ordinary request is still answered at once.
  const auto t0 = std::chrono::steady_clock::now();
  int fd = Connect(server.tcp_port());
  std::string req = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  EXPECT_NE(ReadUntil(fd, "{\"ok\":true}").find("{\"ok\":true}"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  close(fd);
  EXPECT_EQ(server.open_streams(), 20u);
  // A push wakes a parked stream.
  {
    std::lock_guard<std::mutex> lock(mu);
    streams[7]->Push(std::string("event: x\ndata: 1\n\n"));
  }
  EXPECT_NE(ReadUntil(fds[7], "data: 1").find("data: 1"), std::string::npos);
  // A client that goes away is noticed at the next push.
  close(fds[3]);
  for (int i = 0; i < 100 && !streams[3]->detached(); ++i) {
    streams[3]->Push(std::string(1000, 'x'));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(streams[3]->detached());
  // Stop ends the parked streams rather than hanging on them.
  server.Stop();
  for (int f : fds) {
    if (f != fds[3]) close(f);
  }
}

}  // namespace
}  // namespace shoal
