// Advance reservations: a set of nodes held from a start to an end time for named users and
// accounts (scontrol create reservation). Pure values and checks; the controller keeps the list,
// the scheduler honours it (core/scheduler.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/model.h"

namespace shoal {

// Flags as scontrol names them.
enum ReservationFlag : uint32_t {
  kResvMaint = 1u << 0,       // maintenance: nodes show "maint"; others may overlap it
  kResvIgnoreJobs = 1u << 1,  // created even over running jobs
  kResvOverlap = 1u << 2,     // may share nodes and time with other reservations
  kResvDaily = 1u << 3,       // repeats every day
  kResvWeekly = 1u << 4,      // repeats every week
  kResvSpecNodes = 1u << 5,   // the nodes were named (Nodes=), not counted (set by us)
};

struct Reservation {
  std::string name;
  std::vector<std::string> nodes;  // expanded, in the cluster's node order
  int64_t start_time = 0;
  int64_t end_time = 0;
  std::vector<std::string> users;
  std::vector<std::string> accounts;
  uint32_t flags = 0;
  std::string partition;  // "" none

  bool Has(ReservationFlag f) const { return (flags & f) != 0; }
  bool HoldsNode(const std::string& node) const;
  // Whether a job of `user` charged to `account` may use it.
  bool Admits(const std::string& user, const std::string& account) const;
  // Inside its window at `now`.
  bool ActiveAt(int64_t now) const { return start_time <= now && now < end_time; }
};

// "MAINT,IGNORE_JOBS": the flags in Slurm's order; "(null)"-free, "" for none.
std::string ReservationFlagsText(uint32_t flags);
// Parses "MAINT,DAILY" (any case). InvalidArgument naming the unknown flag.
Result<uint32_t> ParseReservationFlags(std::string_view text);

// One create/update request in scontrol's words; unset fields are not given.
struct ReservationRequest {
  std::optional<std::string> name;
  std::optional<std::string> start;  // as written: "now", "now+1hour", "2026-12-03T12:00"
  std::optional<std::string> end;
  std::optional<std::string> duration;  // a time limit: "60", "1:00:00", "1-00:00:00"
  std::optional<std::string> nodes;     // a hostlist, or "ALL"
  std::optional<uint32_t> node_cnt;
  std::optional<std::string> partition;
  std::optional<std::string> users;     // comma list
  std::optional<std::string> accounts;  // comma list
  std::optional<std::string> flags;
  // Update only: Flags+=, Flags-=, Users+=, Users-=, Accounts+=, Accounts-= (comma lists).
  std::optional<std::string> flags_add, flags_remove;
  std::optional<std::string> users_add, users_remove;
  std::optional<std::string> accounts_add, accounts_remove;
};

// Parses "Key=Value" words (keys in any case; ReservationName/Reservation/Name, StartTime,
// EndTime, Duration, Nodes, NodeCnt, PartitionName/Partition, Users, Accounts, Flags; Users,
// Accounts and Flags also as "Key+=Value" and "Key-=Value", which add or remove items).
// InvalidArgument naming the unknown key or the bad value.
Result<ReservationRequest> ParseReservationRequest(const std::vector<std::string>& words);

// What the cluster holds, for building and checking a reservation.
struct ReservationEnv {
  const std::vector<Node>* nodes = nullptr;
  const std::vector<Partition>* partitions = nullptr;  // may be null
  const std::vector<Reservation>* reservations = nullptr;
  // Per node, when the jobs running there end by their estimates (kNever: no limit); nodes
  // without running jobs are absent.
  const std::map<std::string, int64_t>* busy_until = nullptr;
  int64_t now = 0;
};

// Builds a new reservation (existing null) or the updated form of `*existing`, checks it against
// the cluster and returns it; nothing is changed. Errors (InvalidArgument, AlreadyExists,
// FailedPrecondition for busy nodes) carry the reason as scontrol prints it after "Error
// creating the reservation: ".
// Create needs StartTime, Duration or EndTime, Nodes, NodeCnt or PartitionName, and Users or
// Accounts (as Slurm). NodeCnt picks nodes free over the window, idle ones first, in node order,
// from PartitionName's nodes when it is given; PartitionName alone reserves all its nodes (as
// Slurm). The += and -= forms are for updates only; a removal of something absent is an error.
// Without OVERLAP a reservation may not share a node and time with another unless that one is MAINT
// or OVERLAP (as Slurm); without IGNORE_JOBS none of its nodes may run a job past its start.
Result<Reservation> BuildReservation(const ReservationRequest& req, const Reservation* existing,
                                     const ReservationEnv& env);

// Whether `a` and `b` share a node while both are in their windows.
bool ReservationsOverlap(const Reservation& a, const Reservation& b);

// A repeating (DAILY/WEEKLY) reservation whose window has ended moves on by whole periods until
// its end is after `now`; true when it moved. Others are left as they are.
bool RollForward(Reservation& r, int64_t now);

// The CPUs of the reservation's nodes (CoreCnt).
uint64_t ReservedCpus(const Reservation& r, const std::vector<Node>& nodes);

// `scontrol show reservation` for one reservation (no trailing newline): five lines as Slurm
// 22.05 prints them; `cpus` is its CoreCnt.
std::string FormatReservation(const Reservation& r, uint64_t cpus, int64_t now);

}  // namespace shoal
