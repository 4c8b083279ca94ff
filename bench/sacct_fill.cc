// Writes a finished-job history into a shoal SQLite store, as years of use leave it, for
// bench/sacct.sh: TOTAL jobs over DAYS days ending at END (epoch seconds), spread over USERS
// users, except that one user owns HEAVY_PERCENT of them. sacct -u takes only names the system
// knows, so the queried ones are system accounts: "daemon" is one of the USERS and "nobody" is
// the heavy user; the others are "user1", "user2", ... Jobs are written through the
// Store interface (the controller's own schema and encoding), BATCH per transaction.
//
// usage: sacct_fill PATH TOTAL USERS DAYS END HEAVY_PERCENT
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "store/store.h"

using namespace shoal;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: sacct_fill PATH TOTAL USERS DAYS END HEAVY_PERCENT\n");
    return 2;
  }
  const std::string path = argv[1];
  const long total = std::atol(argv[2]);
  const int users = std::atoi(argv[3]);
  const int days = std::atoi(argv[4]);
  const int64_t end = std::atoll(argv[5]);
  const int heavy_percent = std::atoi(argv[6]);
  if (total <= 0 || users <= 0 || days <= 0 || end <= 0 || heavy_percent < 0 ||
      heavy_percent > 100) {
    std::fprintf(stderr, "sacct_fill: bad arguments\n");
    return 2;
  }
  auto store = OpenSqliteStore(path);
  if (!store.ok()) {
    std::fprintf(stderr, "sacct_fill: %s\n", store.status().message().c_str());
    return 1;
  }
  const int64_t begin = end - int64_t{days} * 86400;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> user_pick(0, users - 1);
  std::exponential_distribution<double> runtime(1.0 / 1800);  // mean 30 minutes
  constexpr long kBatch = 20000;
  const JobState ends[] = {JobState::kCompleted, JobState::kCompleted, JobState::kCompleted,
                           JobState::kFailed, JobState::kCancelled, JobState::kTimeout};
  std::vector<StoreOp> ops;
  for (long i = 1; i <= total; ++i) {
    Job j;
    j.id = static_cast<JobId>(i);
    j.req.name = "job" + std::to_string(i % 97);
    if (percent(rng) < heavy_percent) {
      j.req.user = "nobody";
    } else {
      const int u = user_pick(rng);
      j.req.user = u == 0 ? "daemon" : "user" + std::to_string(u);
    }
    j.req.uid = 10000;
    j.req.account = "acct" + std::to_string(i % 7);
    j.req.partition = "debug";
    j.req.work_dir = "/tmp";
    j.req.min_nodes = 1;
    j.submit_time = begin + (end - begin) * (i - 1) / total;  // ids grow with time
    j.eligible_time = j.submit_time;
    j.start_time = j.submit_time + (i % 60);
    j.end_time = j.start_time + 1 + static_cast<int64_t>(runtime(rng));
    j.state = ends[i % 6];
    j.exit_code = j.state == JobState::kFailed ? 1 : 0;
    j.nodes = {"node" + std::to_string(i % 64 + 1)};
    j.alloc_cpus = 1 + static_cast<uint32_t>(i % 8);
    j.cpus_per_node = j.alloc_cpus;
    StoreOp op;
    op.kind = StoreOp::Kind::kInsertJob;
    op.job = std::move(j);
    op.must_sync = false;
    ops.push_back(std::move(op));
    if (static_cast<long>(ops.size()) == kBatch || i == total) {
      if (Status s = (*store)->Write(std::move(ops)); !s.ok()) {
        std::fprintf(stderr, "sacct_fill: %s\n", s.message().c_str());
        return 1;
      }
      ops.clear();
    }
  }
  return 0;
}
