// Durable submissions per second through the public API from one client process (several
// connections in flight, no process starts), against the baseline of committing one SQLite row
// per transaction on the same disk with the same durability (WAL, synchronous=FULL).
//
// usage: api_submit_bench SOCKET_PATH SCRATCH_DIR [TOTAL] [THREADS] [USERS] [eligible]
// USERS > 0 spreads the jobs over users user0..user{USERS-1} (as root, the API takes the body's
// user); "eligible" leaves out the far-future begin time, so the jobs compete for nodes.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "api/client.h"

using namespace shoal;
using Clock = std::chrono::steady_clock;

static double SqliteBaseline(const std::string& dir, int rows) {
  std::string path = dir + "/baseline.db";
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT)", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (doc) VALUES (?)", -1, &st, nullptr);
  std::string doc(1500, 'x');  // about the size of one job record
  auto t0 = Clock::now();
  for (int i = 0; i < rows; ++i) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, doc.c_str(), -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows / secs;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SOCKET_PATH SCRATCH_DIR [TOTAL] [THREADS]\n", argv[0]);
    return 2;
  }
  const std::string socket = argv[1];
  const std::string dir = argv[2];
  const int total = argc > 3 ? std::atoi(argv[3]) : 20000;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 32;
  const int users = argc > 5 ? std::atoi(argv[5]) : 0;
  const bool eligible = argc > 6 && std::string(argv[6]) == "eligible";

  const double baseline = SqliteBaseline(dir, 2000);

  Json body = {{"job",
                {{"name", "bench"}, {"work_dir", "/tmp"}, {"user", "bench"}, {"stdout_pattern", "/dev/null"},
                 {"begin_time", 4102444800}}},  // far future: queued, never started
               {"script", "#!/bin/sh\ntrue\n"},
               {"env", Json::array({"PATH=/usr/bin:/bin"})}};
  if (eligible) body["job"].erase("begin_time");
  ApiClient client("unix:" + socket);
  std::atomic<int> next{0}, failed{0};
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      Json mine = body;
      for (int i; (i = next.fetch_add(1)) < total;) {
        if (users > 0) mine["job"]["user"] = "user" + std::to_string(i % users);
        auto r = client.Post("/api/v1/jobs", mine);
        if (!r.ok()) failed.fetch_add(1);
      }
    });
  }
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double rate = (total - failed.load()) / secs;
  std::printf("durable submissions through the API: %d in %.2f s = %.0f/s (%d connections in flight, %d failed)\n",
              total, secs, rate, threads, failed.load());
  std::printf("baseline, SQLite one row per transaction (WAL, synchronous=FULL): %.0f/s\n", baseline);
  std::printf("ratio: %.1fx the one-row-per-commit baseline\n", rate / baseline);
  return failed.load() == 0 ? 0 : 1;
}
