// The controller's metrics and its Prometheus routes, in process: a real SQLite store, an agent
// faked by calling RegisterAgent/OnAgentMessage and draining its session.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "controller/controller.h"
#include "controller/metrics_routes.h"

namespace shoal {
namespace {

using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(ControllerMetricsRoutes, RouteClassesAreFewAndFixed) {
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/metrics"), "/metrics");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/jobs"), "/api/v1/jobs");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/jobs/"), "/api/v1/jobs");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/jobs/123"), "/api/v1/jobs/:id");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/jobs/cancel"), "/api/v1/jobs/cancel");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/jobs/12_3/hold"),
            "/api/v1/jobs/:id/:action");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/accounting/jobs"),
            "/api/v1/accounting/jobs");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/prometheus/targets"),
            "/api/v1/prometheus/targets");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/api/v1/random-thing/1"), "other");
  EXPECT_EQ(ControllerHttpHandler::RouteClass("/favicon.ico"), "other");
}

class ControllerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    char tmpl[] = "/tmp/shoal_controller_metrics_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok());
    ctl_ = std::make_unique<Controller>(ControllerConfig(), std::move(store).value(),
                                        dir_ + "/ctl.sock");
    ASSERT_TRUE(ctl_->Start().ok());
    handler_ = std::make_unique<ControllerHttpHandler>(*ctl_);
    handler_->SetSelfTarget("ctl.example:6817");
  }
  void TearDown() override {
    if (session_) session_->Close();
    if (reader_.joinable()) reader_.join();
    handler_.reset();
    ctl_.reset();
    std::filesystem::remove_all(dir_);
  }

  void RegisterAgent(const std::string& node, const std::string& metrics_address,
                     uint32_t gpus = 0) {
    rpc::Register reg;
    reg.set_node_name(node);
    reg.set_hostname(node);
    reg.set_cpus(4);
    reg.set_memory_mb(4096);
    reg.set_metrics_address(metrics_address);
    for (uint32_t i = 0; i < gpus; ++i) {
      rpc::GpuInfo* g = reg.add_gpus();
      g->set_index(i);
      g->set_type("emulated");
      g->set_emulated(true);
    }
    rpc::RegisterReply reply;
    auto s = ctl_->RegisterAgent(reg, reply);
    ASSERT_TRUE(s.ok());
    session_ = *s;
    reader_ = std::thread([this] {
      rpc::ControllerMessage msg;
      while (session_->Next(msg)) {
        if (msg.has_launch()) {
          std::lock_guard<std::mutex> lock(mu_);
          launched_.push_back({msg.launch().job_id(), msg.launch().generation()});
        }
      }
    });
  }

  HttpResponse Get(const std::string& path, std::map<std::string, std::string> query = {}) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return handler_->Handle(r);
  }

  bool MetricsHave(const std::string& line) {
    return Eventually([&] { return Get("/metrics").body.find(line) != std::string::npos; });
  }

  std::string dir_;
  std::unique_ptr<Controller> ctl_;
  std::unique_ptr<ControllerHttpHandler> handler_;
  std::shared_ptr<AgentSession> session_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<std::pair<JobId, uint64_t>> launched_;
};

TEST_F(ControllerMetricsTest, CountsAJobThroughItsLife) {
  RegisterAgent("n1", "10.1.2.3:9477");
  SubmitRequest req;
  req.req.name = "m";
  req.req.user = "alice";
  req.req.work_dir = dir_;
  req.script = "#!/bin/sh\ntrue\n";
  auto id = ctl_->Submit(req, NowSeconds());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu_);
    return !launched_.empty();
  }));
  EXPECT_TRUE(MetricsHave("shoal_jobs_submitted_total{partition=\"debug\"} 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_jobs_started_total 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_jobs{state=\"running\",partition=\"debug\"} 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_nodes{state=\"mixed\"} 1\n"));
  rpc::AgentMessage fin;
  fin.mutable_job_finished()->set_job_id(launched_[0].first);
  fin.mutable_job_finished()->set_generation(launched_[0].second);
  ctl_->OnAgentMessage(session_, fin);
  EXPECT_TRUE(MetricsHave("shoal_jobs_finished_total{state=\"completed\"} 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_jobs{state=\"running\",partition=\"debug\"} 0\n"));
  EXPECT_TRUE(MetricsHave("shoal_nodes{state=\"idle\"} 1\n"));
  const std::string text = Get("/metrics").body;
  EXPECT_NE(text.find("shoal_scheduler_pass_duration_seconds_count "), std::string::npos);
  EXPECT_NE(text.find("shoal_store_commit_duration_seconds_count "), std::string::npos);
  EXPECT_NE(text.find("shoal_api_request_duration_seconds_count{route=\"/metrics\",method=\"GET\","
                      "code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(text.find("shoal_build_info{version=\""), std::string::npos);
  EXPECT_EQ(Get("/metrics").content_type, metrics::kContentType);
}

TEST_F(ControllerMetricsTest, PendingJobsByReason) {
  SubmitRequest req;
  req.req.name = "w";
  req.req.user = "alice";
  req.req.work_dir = dir_;
  req.req.min_nodes = 1;
  req.script = "#!/bin/sh\ntrue\n";
  // A drained node: the job is accepted and waits.
  RegisterAgent("n1", "");
  ASSERT_TRUE(ctl_->UpdateNode("n1", "DRAIN", "maintenance").ok());
  ASSERT_TRUE(ctl_->Submit(req, NowSeconds()).ok());
  EXPECT_TRUE(MetricsHave("shoal_queue_length 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_jobs{state=\"pending\",partition=\"debug\"} 1\n"));
  EXPECT_TRUE(MetricsHave("shoal_pending_jobs{reason=\""));
  EXPECT_TRUE(MetricsHave("shoal_nodes{state=\"drained\"} 1\n"));
}

TEST_F(ControllerMetricsTest, TargetsListTheControllerAndAgents) {
  RegisterAgent("n1", "10.1.2.3:9477");
  Json all = Json::parse(Get("/api/v1/prometheus/targets").body);
  ASSERT_EQ(all.size(), 2u) << all.dump();
  EXPECT_EQ(all[0]["targets"], Json::array({"ctl.example:6817"}));
  EXPECT_EQ(all[0]["labels"]["shoal_role"], "controller");
  EXPECT_EQ(all[1]["targets"], Json::array({"10.1.2.3:9477"}));
  EXPECT_EQ(all[1]["labels"]["shoal_role"], "agent");
  EXPECT_EQ(all[1]["labels"]["shoal_node"], "n1");
  EXPECT_EQ(all[1]["labels"]["shoal_cluster"], "shoal");
  Json agents = Json::parse(Get("/api/v1/prometheus/targets", {{"role", "agent"}}).body);
  ASSERT_EQ(agents.size(), 1u);
  Json ctl = Json::parse(Get("/api/v1/prometheus/targets", {{"role", "controller"}}).body);
  ASSERT_EQ(ctl.size(), 1u);
}

TEST_F(ControllerMetricsTest, BadRequestsGetJsonErrors) {
  HttpResponse r = Get("/api/v1/prometheus/targets", {{"role", "robot"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "INVALID_ARGUMENT");
  r = Get("/api/v1/prometheus/targets", {{"limit", "3"}});
  EXPECT_EQ(r.status, 400);
  r = Get("/api/v1/prometheus/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "NOT_FOUND");
  HttpRequest post;
  post.method = "POST";
  post.path = "/metrics";
  r = handler_->Handle(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(Json::parse(r.body).contains("error"));
}

TEST_F(ControllerMetricsTest, GpuReadingsFromHeartbeatsReachMetricsAndTheApi) {
  RegisterAgent("g1", "", /*gpus=*/2);
  auto heartbeat = [&](std::vector<std::pair<uint32_t, double>> utils, uint64_t used = 8ull << 30) {
    rpc::AgentMessage msg;
    msg.mutable_heartbeat()->set_time(NowSeconds());
    for (auto [index, util] : utils) {
      rpc::GpuReading* r = msg.mutable_heartbeat()->add_gpus();
      r->set_index(index);
      r->set_utilization_ratio(util);
      r->set_memory_used_bytes(used);
      r->set_memory_total_bytes(80ull << 30);
      r->set_temperature_celsius(util > 0.5 ? 74 : 35);
      r->set_power_watts(60 + 290 * util);
    }
    ctl_->OnAgentMessage(session_, msg);
  };
  heartbeat({{0, 0.87}, {1, 0.02}});
  std::string body = Get("/metrics").body;
  EXPECT_NE(body.find("shoal_node_gpu_utilization_ratio{node=\"g1\",gpu=\"0\"} 0.87"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("shoal_node_gpu_utilization_ratio{node=\"g1\",gpu=\"1\"} 0.02"),
            std::string::npos);
  EXPECT_NE(body.find("shoal_node_gpu_temperature_celsius{node=\"g1\",gpu=\"0\"} 74"),
            std::string::npos);
  EXPECT_NE(body.find("# TYPE shoal_node_gpu_memory_used_bytes gauge"), std::string::npos);
  Json nodes = Json::parse(Get("/api/v1/nodes").body)["nodes"];
  ASSERT_EQ(nodes.size(), 1u);
  ASSERT_EQ(nodes[0]["gpu_readings"].size(), 2u);
  EXPECT_DOUBLE_EQ(nodes[0]["gpu_readings"][0]["utilization_ratio"].get<double>(), 0.87);
  EXPECT_EQ(nodes[0]["gpu_readings"][1]["index"].get<int>(), 1);

  // Bad readings change nothing: an index the node does not have, a ratio above 1, more memory
  // used than there is.
  heartbeat({{2, 0.5}});
  heartbeat({{0, 1.5}});
  heartbeat({{0, 0.5}}, 81ull << 30);
  body = Get("/metrics").body;
  EXPECT_NE(body.find("shoal_node_gpu_utilization_ratio{node=\"g1\",gpu=\"0\"} 0.87"),
            std::string::npos);
  EXPECT_EQ(body.find("gpu=\"2\""), std::string::npos);

  // The node fails: its readings go with it.
  ASSERT_TRUE(ctl_->UpdateNode("g1", "DOWN", "test").ok());
  EXPECT_EQ(Get("/metrics").body.find("shoal_node_gpu_utilization_ratio{"), std::string::npos);
  EXPECT_FALSE(Json::parse(Get("/api/v1/nodes").body)["nodes"][0].contains("gpu_readings"));
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// Power saving's nodes are counted by their power state, not as "idle~" or as down.
TEST(NodeStateLabelTest, PowerStates) {
  Node n;
  n.cpus = 2;
  n.power = NodePower::kPoweredDown;
  EXPECT_EQ(ControllerMetrics::NodeStateLabel(n), "powered_down");
  n.power = NodePower::kPoweringUp;
  EXPECT_EQ(ControllerMetrics::NodeStateLabel(n), "powering_up");
  n.power = NodePower::kPoweringDown;
  EXPECT_EQ(ControllerMetrics::NodeStateLabel(n), "powering_down");
  n.power = NodePower::kPoweredDown;
  n.down = true;  // a failed resume is down
  EXPECT_EQ(ControllerMetrics::NodeStateLabel(n), "down");
  n = Node();
  n.cpus = 2;
  n.responding = true;
  n.boot_time = 1;
  n.power_down_pending = true;
  EXPECT_EQ(ControllerMetrics::NodeStateLabel(n), "idle");
}

}  // namespace
}  // namespace shoal
