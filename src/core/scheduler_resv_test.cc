// The scheduler honouring advance reservations (scheduler.h, "Reservations").
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/reservation.h"
#include "core/scheduler.h"

namespace shoal {
namespace {

constexpr int64_t kNow = 10000;

// A reservation (designated initializers would leave members unnamed).
Reservation MakeResv(std::string name, std::vector<std::string> nodes, int64_t start, int64_t end,
                     uint32_t flags = 0, std::vector<std::string> users = {"root"}) {
  Reservation r;
  r.name = std::move(name);
  r.nodes = std::move(nodes);
  r.start_time = start;
  r.end_time = end;
  r.flags = flags;
  r.users = std::move(users);
  return r;
}

class SchedulerReservationTest : public ::testing::Test {
 protected:
  SchedulerReservationTest() {
    for (const char* name : {"node1", "node2"}) {
      Node n;
      n.name = name;
      n.cpus = 2;
      n.memory_mb = 1000;
      n.responding = true;
      nodes.push_back(n);
    }
    Partition p;
    p.name = "batch";
    p.all_nodes = true;
    partitions.push_back(p);
  }

  Job& Add(JobId id, int64_t limit_s, uint32_t cpus = 1, std::string resv = "") {
    Job j;
    j.id = id;
    j.priority = 1000 - static_cast<uint32_t>(id);
    j.submit_time = static_cast<int64_t>(id);
    j.req.user = "alice";
    j.req.partition = "batch";
    j.req.cpus_per_task = cpus;
    j.req.time_limit_s = limit_s;
    j.req.reservation = std::move(resv);
    return jobs[id] = j;
  }

  // Marks job `id` running on `node` since `start`, holding all its CPUs.
  void Run(JobId id, const std::string& node, int64_t start) {
    Job& j = jobs[id];
    j.state = JobState::kRunning;
    j.start_time = start;
    j.nodes = {node};
    j.cpus_per_node = j.req.cpus_per_task;
    j.alloc_cpus = j.cpus_per_node;
    for (Node& n : nodes) {
      if (n.name == node) {
        n.alloc_cpus += j.cpus_per_node;
        n.running_jobs.push_back(id);
      }
    }
  }

  ScheduleResult Pass(int64_t now = kNow) {
    ClusterView view{&jobs, &nodes, &partitions};
    view.reservations = &reservations;
    return Schedule(view, now);
  }

  static const StartDecision* StartOf(const ScheduleResult& r, JobId id) {
    for (const auto& s : r.starts) {
      if (s.job_id == id) return &s;
    }
    return nullptr;
  }
  static std::optional<std::string> ReasonOf(const ScheduleResult& r, JobId id) {
    for (const auto& [job_id, text] : r.reasons) {
      if (job_id == id) return text;
    }
    return std::nullopt;
  }

  std::map<JobId, Job> jobs;
  std::vector<Node> nodes;
  std::vector<Partition> partitions;
  std::vector<Reservation> reservations;
};

TEST_F(SchedulerReservationTest, ActiveWindowKeepsOthersOffItsNodes) {
  reservations.push_back(MakeResv("maint", {"node1"}, kNow, kNow + 60, kResvMaint, {"alice"}));
  Add(1, 600, 2);  // takes a whole node: only node2 is open
  Add(2, 600, 2);  // would need node1
  ScheduleResult r = Pass();
  ASSERT_NE(StartOf(r, 1), nullptr);
  EXPECT_EQ(StartOf(r, 1)->nodes, std::vector<std::string>{"node2"});
  EXPECT_EQ(StartOf(r, 2), nullptr);
  EXPECT_EQ(ReasonOf(r, 2), "ReqNodeNotAvail, Reserved for maintenance");
}

TEST_F(SchedulerReservationTest, JobNamingItRunsOnlyOnItsNodesInItsWindow) {
  reservations.push_back(MakeResv("r", {"node2"}, kNow + 100, kNow + 200, 0, {"alice"}));
  Add(1, 50, 1, "r");
  ScheduleResult before = Pass();
  EXPECT_EQ(StartOf(before, 1), nullptr);
  EXPECT_EQ(ReasonOf(before, 1), "Reservation");
  ScheduleResult during = Pass(kNow + 100);
  ASSERT_NE(StartOf(during, 1), nullptr);
  EXPECT_EQ(StartOf(during, 1)->nodes, std::vector<std::string>{"node2"});
  // Full: the reservation's one node is taken, though node1 is idle.
  Add(2, 50, 2, "r");
  Add(3, 50, 2, "r");
  ScheduleResult full = Pass(kNow + 100);
  EXPECT_EQ(full.starts.size(), 1u);
  EXPECT_EQ(ReasonOf(full, 3), "Resources");
  // Unknown reservation.
  Add(4, 50, 1, "gone");
  EXPECT_EQ(ReasonOf(Pass(kNow + 100), 4), "ReservationDeleted");
}

TEST_F(SchedulerReservationTest, FutureWindowBlocksJobsThatWouldCrossItsStart) {
  reservations.push_back(MakeResv("all", {"node1", "node2"}, kNow + 30, kNow + 90, 0, {"root"}));
  Add(1, 60, 1);  // would run into the window
  Add(2, 10, 1);  // ends before it
  ScheduleResult r = Pass();
  EXPECT_EQ(StartOf(r, 1), nullptr);
  EXPECT_EQ(ReasonOf(r, 1), "Resources");
  EXPECT_NE(StartOf(r, 2), nullptr);
  // The plan puts job 1 after the window.
  ASSERT_EQ(r.planned.size(), 1u);
  EXPECT_EQ(r.planned[0].job_id, 1u);
  EXPECT_EQ(r.planned[0].start_time, kNow + 90);
}

TEST_F(SchedulerReservationTest, EndedWindowFreesTheNodes) {
  reservations.push_back(MakeResv("old", {"node1", "node2"}, kNow - 100, kNow, 0, {"root"}));
  Add(1, 60, 2);
  Add(2, 60, 2);
  EXPECT_EQ(Pass().starts.size(), 2u);
}

TEST_F(SchedulerReservationTest, WithoutReservationsNothingChanges) {
  Add(1, 60, 2);
  Add(2, 60, 2);
  Add(3, 60, 2);
  ScheduleResult r = Pass();
  EXPECT_EQ(r.starts.size(), 2u);
  EXPECT_EQ(ReasonOf(r, 3), "Resources");
}

}  // namespace
}  // namespace shoal
