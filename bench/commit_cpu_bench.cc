// The CPU one durable commit costs on this machine, as the controller's store makes it: WAL,
// synchronous=FULL, BEGIN IMMEDIATE, one row, COMMIT, statements prepared once. A floor under
// the controller's CPU per job (bench/ctl_floor.sh): every submission is at least one.
//
//   commit_cpu_bench [COMMITS] [DIR]
#include <sqlite3.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double CpuUs(const rusage& r) {
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

bool Step(sqlite3_stmt* st) {
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE;
}

}  // namespace

int main(int argc, char** argv) {
  const int commits = argc > 1 ? std::atoi(argv[1]) : 2000;
  const std::string path = std::string(argc > 2 ? argv[2] : "/tmp") + "/commit_cpu_bench.db";
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  if (commits <= 0 || sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "usage: commit_cpu_bench [COMMITS > 0] [WRITABLE_DIR]\n");
    return 2;
  }
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE jobs (id INTEGER PRIMARY KEY, record TEXT)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt *begin, *insert, *commit;
  sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO jobs (record) VALUES (?)", -1, &insert, nullptr);
  sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr);
  const std::string record(600, 'x');  // about a job's stored record
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (int i = 0; i < commits; ++i) {
    sqlite3_bind_text(insert, 1, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
    if (!Step(begin) || !Step(insert) || !Step(commit)) {
      std::fprintf(stderr, "commit failed: %s\n", sqlite3_errmsg(db));
      return 1;
    }
  }
  getrusage(RUSAGE_SELF, &after);
  const double user = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1e6 +
                      (after.ru_utime.tv_usec - before.ru_utime.tv_usec);
  const double total = CpuUs(after) - CpuUs(before);
  std::printf("durable commit: %.1f us of CPU (user %.1f, system %.1f), %d commits\n",
              total / commits, user / commits, (total - user) / commits, commits);
  sqlite3_finalize(begin);
  sqlite3_finalize(insert);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  return 0;
}
