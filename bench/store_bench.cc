// Durable job submissions per second through each Store implementation's group commit, SQLite
// and PostgreSQL side by side in one run: THREADS submitters (as the API's handlers are) each
// write a job's payload and record and wait until it is durable, TOTAL jobs in all.
//
// usage: store_bench [TOTAL] [THREADS] [POSTGRES_CONNINFO]
// A given conninfo must name an empty database (jobs 1..TOTAL are written to it). Without one
// it starts a throwaway PostgreSQL server (tests/tools/throwaway_postgres.sh: a Unix socket on
// this machine, fsync on, the server's defaults otherwise) and removes it afterwards.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_store.h"
#include "store/store.h"

using namespace shoal;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double jobs_per_s = 0;
  int commits = 0;
};

Job BenchJob(JobId id) {
  Job j;
  j.id = id;
  j.req.name = "bench";
  j.req.user = "bench";
  j.req.partition = "debug";
  j.req.work_dir = "/tmp";
  j.req.stdout_pattern = "/dev/null";
  j.submit_time = 1700000000 + static_cast<int64_t>(id);
  return j;
}

Result<Figures> Run(Store& store, int total, int threads) {
  // An environment the size sbatch sends from a login shell (about 2 KB).
  std::vector<std::string> env;
  for (int i = 0; i < 40; ++i)
    env.push_back("VARIABLE_" + std::to_string(i) + "=" + std::string(40, 'v'));
  std::atomic<int> commits{0};
  store.SetCommitObserver([&](double) { ++commits; });
  std::atomic<int> next{1};
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex error_mu;
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int id = next++; id <= total; id = next++) {
        std::vector<StoreOp> ops(2);
        ops[0].kind = StoreOp::Kind::kInsertPayload;
        ops[0].payload_id = static_cast<JobId>(id);
        ops[0].payload.script = "#!/bin/sh\ntrue\n";
        ops[0].payload.env = env;
        ops[1].kind = StoreOp::Kind::kInsertJob;
        ops[1].job = BenchJob(static_cast<JobId>(id));
        Status s = store.Write(std::move(ops));
        if (!s.ok() && failures++ == 0) {
          std::lock_guard<std::mutex> lock(error_mu);
          first_error = s.message();
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failures > 0)
    return Internal(std::to_string(failures.load()) + " writes failed: " + first_error);
  auto max = store.MaxJobId();
  if (!max.ok() || *max != static_cast<JobId>(total)) return Internal("jobs missing after the run");
  return Figures{total / secs, commits.load()};
}

void Print(const char* name, const Figures& f, int total) {
  std::printf("%-11s %8.0f jobs/s  (%d jobs in %d commits, %.1f jobs per commit)\n", name,
              f.jobs_per_s, total, f.commits, static_cast<double>(total) / f.commits);
}

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 32;
  std::string conninfo = argc > 3 ? argv[3] : "";
  if (total <= 0 || threads <= 0) {
    std::fprintf(stderr, "usage: %s [TOTAL] [THREADS] [POSTGRES_CONNINFO]\n", argv[0]);
    return 2;
  }
  std::string dir = "/tmp/shoal-store-bench.XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return 1;
  std::string pg_dir;
  if (conninfo.empty()) {
    // Not under `dir`: as root the server runs as nobody, who cannot enter a mkdtemp directory.
    pg_dir = "/tmp/shoal-store-bench-pg.XXXXXX";
    if (mkdtemp(pg_dir.data()) == nullptr) return 1;
    const std::string cmd = std::string("bash ") + SHOAL_THROWAWAY_POSTGRES + " start " + pg_dir;
    FILE* p = popen(cmd.c_str(), "r");
    char line[512] = {};
    if (p == nullptr || std::fgets(line, sizeof line, p) == nullptr || pclose(p) != 0) {
      std::fprintf(stderr, "store_bench: cannot start PostgreSQL\n");
      std::filesystem::remove_all(dir);
      return 1;
    }
    conninfo = line;
    while (!conninfo.empty() && conninfo.back() == '\n') conninfo.pop_back();
  }
  std::printf("%d durable job submissions (payload + record, must_sync) from %d threads\n", total,
              threads);
  int rc = 0;
  Figures sqlite, postgres;
  {
    auto store = OpenSqliteStore(dir + "/shoal.db");
    auto f = store.ok() ? Run(**store, total, threads) : Result<Figures>(store.status());
    if (f.ok()) {
      sqlite = *f;
      Print("SQLite", sqlite, total);
    } else {
      std::fprintf(stderr, "SQLite: %s\n", f.status().message().c_str());
      rc = 1;
    }
  }
  {
    auto store = OpenPostgresStore(conninfo);
    auto f = store.ok() ? Run(**store, total, threads) : Result<Figures>(store.status());
    if (f.ok()) {
      postgres = *f;
      Print("PostgreSQL", postgres, total);
    } else {
      std::fprintf(stderr, "PostgreSQL: %s\n", f.status().message().c_str());
      rc = 1;
    }
  }
  if (rc == 0) {
    std::printf("PostgreSQL / SQLite: %.2f\n", postgres.jobs_per_s / sqlite.jobs_per_s);
  }
  if (!pg_dir.empty()) {
    const std::string cmd = std::string("bash ") + SHOAL_THROWAWAY_POSTGRES + " stop " + pg_dir;
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "store_bench: could not stop PostgreSQL\n");
  }
  std::filesystem::remove_all(dir);
  return rc;
}
