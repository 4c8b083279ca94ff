#include "core/reservation.h"

#include <algorithm>
#include <set>

#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

struct FlagName {
  ReservationFlag flag;
  const char* name;
};
// Slurm's printing order.
constexpr FlagName kFlagNames[] = {
    {kResvMaint, "MAINT"},     {kResvDaily, "DAILY"},
    {kResvWeekly, "WEEKLY"},   {kResvIgnoreJobs, "IGNORE_JOBS"},
    {kResvOverlap, "OVERLAP"}, {kResvSpecNodes, "SPEC_NODES"},
};

constexpr int64_t kDay = 24 * 3600;
// Duration=UNLIMITED: Slurm holds such a reservation for a year.
constexpr int64_t kUnlimitedReservation = 365 * kDay;

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  for (const std::string& part : Split(text, ',')) {
    std::string_view t = Trim(part);
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.emplace_back(t);
  }
  return out;
}

bool WindowsOverlap(const Reservation& a, const Reservation& b) {
  return a.start_time < b.end_time && b.start_time < a.end_time;
}

}  // namespace

bool Reservation::HoldsNode(const std::string& node) const {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

bool Reservation::Admits(const std::string& user, const std::string& account) const {
  if (std::find(users.begin(), users.end(), user) != users.end()) return true;
  return !account.empty() && std::find(accounts.begin(), accounts.end(), account) != accounts.end();
}

std::string ReservationFlagsText(uint32_t flags) {
  std::string out;
  for (const FlagName& f : kFlagNames) {
    if ((flags & f.flag) == 0) continue;
    if (!out.empty()) out += ',';
    out += f.name;
  }
  return out;
}

Result<uint32_t> ParseReservationFlags(std::string_view text) {
  uint32_t flags = 0;
  for (const std::string& word : SplitList(text)) {
    bool known = false;
    for (const FlagName& f : kFlagNames) {
      if (f.flag != kResvSpecNodes && EqualsIgnoreCase(word, f.name)) {
        flags |= f.flag;
        known = true;
      }
    }
    if (!known) return InvalidArgument("Invalid flag '" + word + "'");
  }
  return flags;
}

Result<ReservationRequest> ParseReservationRequest(const std::vector<std::string>& words) {
  ReservationRequest req;
  for (const std::string& word : words) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("Invalid input: " + word + " (expected Key=Value)");
    }
    std::string key = ToLower(word.substr(0, eq));
    std::string value(Trim(std::string_view(word).substr(eq + 1)));
    // "Flags+=X" / "Users-=bob": add to or remove from the current list.
    const char op = key.back() == '+' || key.back() == '-' ? key.back() : '\0';
    if (op != '\0') {
      key.pop_back();
      std::optional<std::string>* add = nullptr;
      std::optional<std::string>* remove = nullptr;
      if (key == "flags") {
        auto f = ParseReservationFlags(value);
        if (!f.ok()) return f.status();
        add = &req.flags_add;
        remove = &req.flags_remove;
      } else if (key == "users" || key == "user") {
        add = &req.users_add;
        remove = &req.users_remove;
      } else if (key == "accounts" || key == "account") {
        add = &req.accounts_add;
        remove = &req.accounts_remove;
      } else {
        return InvalidArgument("Invalid input: " + word + " (" + word.substr(0, eq - 1) +
                               "= cannot add or remove)");
      }
      if (SplitList(value).empty()) return InvalidArgument("Invalid input: " + word);
      *(op == '+' ? add : remove) = value;
      continue;
    }
    if (key == "reservationname" || key == "reservation" || key == "name" || key == "resv") {
      if (value.empty() || value.find_first_of(" ,=/") != std::string::npos) {
        return InvalidArgument("Invalid reservation name '" + value + "'");
      }
      req.name = value;
    } else if (key == "starttime") {
      req.start = value;
    } else if (key == "endtime") {
      req.end = value;
    } else if (key == "duration") {
      req.duration = value;
    } else if (key == "nodes" || key == "nodelist") {
      req.nodes = value;
    } else if (key == "nodecnt" || key == "nodecount") {
      auto n = ParseUint(value);
      if (!n || *n == 0 || *n > 1000000) {
        return InvalidArgument("Invalid node count '" + value + "'");
      }
      req.node_cnt = static_cast<uint32_t>(*n);
    } else if (key == "partitionname" || key == "partition") {
      req.partition = value;
    } else if (key == "users" || key == "user") {
      req.users = value;
    } else if (key == "accounts" || key == "account") {
      req.accounts = value;
    } else if (key == "flags") {
      auto f = ParseReservationFlags(value);
      if (!f.ok()) return f.status();
      req.flags = value;
    } else {
      return InvalidArgument("Invalid input: " + word + " (unknown keyword " + word.substr(0, eq) +
                             ")");
    }
  }
  return req;
}

bool ReservationsOverlap(const Reservation& a, const Reservation& b) {
  if (!WindowsOverlap(a, b)) return false;
  for (const std::string& n : a.nodes) {
    if (b.HoldsNode(n)) return true;
  }
  return false;
}

bool RollForward(Reservation& r, int64_t now) {
  const int64_t period = r.Has(kResvWeekly) ? 7 * kDay : r.Has(kResvDaily) ? kDay : 0;
  if (period == 0 || r.end_time > now) return false;
  const int64_t steps = (now - r.end_time) / period + 1;
  r.start_time += steps * period;
  r.end_time += steps * period;
  return true;
}

Result<Reservation> BuildReservation(const ReservationRequest& req, const Reservation* existing,
                                     const ReservationEnv& env) {
  const std::vector<Node>& all = *env.nodes;
  Reservation r = existing != nullptr ? *existing : Reservation{};
  if (existing == nullptr) {
    if (req.flags_add || req.flags_remove || req.users_add || req.users_remove ||
        req.accounts_add || req.accounts_remove) {
      return InvalidArgument("+= and -= are for updates only");
    }
    if (!req.name) return InvalidArgument("ReservationName must be specified");
    if (!req.start) return InvalidArgument("StartTime must be specified");
    if (!req.duration && !req.end) return InvalidArgument("Duration or EndTime must be specified");
    if (!req.nodes && !req.node_cnt && !req.partition) {
      return InvalidArgument("Nodes, NodeCnt or PartitionName must be specified");
    }
    if (!req.users && !req.accounts) {
      return InvalidArgument("Either Users or Accounts must be specified");
    }
    r.name = *req.name;
    if (env.reservations != nullptr) {
      for (const Reservation& o : *env.reservations) {
        if (o.name == r.name) return AlreadyExists("Reservation " + r.name + " already exists");
      }
    }
  } else if (req.name && *req.name != existing->name) {
    return InvalidArgument("ReservationName cannot be changed");
  }
  if (req.nodes && req.node_cnt) return InvalidArgument("Give Nodes or NodeCnt, not both");

  // Times. A new StartTime keeps the duration unless the end is given too.
  const int64_t old_duration = r.end_time - r.start_time;
  if (req.start) {
    auto t = ParseTimePoint(*req.start, env.now);
    if (!t.ok()) return InvalidArgument("Invalid StartTime '" + *req.start + "'");
    // "now" a moment ago, or a time already past: the window starts now (as Slurm).
    r.start_time = std::max(*t, env.now);
    if (existing != nullptr) r.end_time = r.start_time + old_duration;
  }
  if (req.end) {
    auto t = ParseTimePoint(*req.end, env.now);
    if (!t.ok()) return InvalidArgument("Invalid EndTime '" + *req.end + "'");
    r.end_time = *t;
  }
  if (req.duration) {
    auto d = ParseTimeLimit(*req.duration);
    if (!d.ok()) return InvalidArgument("Invalid Duration '" + *req.duration + "'");
    r.end_time = r.start_time + (*d == kUnlimited ? kUnlimitedReservation : *d);
  }
  if (r.end_time <= r.start_time) return InvalidArgument("EndTime must be after StartTime");
  if (r.end_time <= env.now) return InvalidArgument("Reservation would end in the past");

  if ((req.users && (req.users_add || req.users_remove)) ||
      (req.accounts && (req.accounts_add || req.accounts_remove)) ||
      (req.flags && (req.flags_add || req.flags_remove))) {
    return InvalidArgument("Give Key= or Key+=/Key-=, not both");
  }
  if (req.users) r.users = SplitList(*req.users);
  if (req.accounts) r.accounts = SplitList(*req.accounts);
  // Adds keep the list's order; a removal of an absent item is refused (it is likely a typo).
  auto edit = [](std::vector<std::string>& list, const std::optional<std::string>& add,
                 const std::optional<std::string>& remove, const char* what) -> Status {
    if (add) {
      for (const std::string& x : SplitList(*add)) {
        if (std::find(list.begin(), list.end(), x) == list.end()) list.push_back(x);
      }
    }
    if (remove) {
      for (const std::string& x : SplitList(*remove)) {
        auto it = std::find(list.begin(), list.end(), x);
        if (it == list.end()) {
          return InvalidArgument(std::string(what) + " " + x + " is not in the reservation");
        }
        list.erase(it);
      }
    }
    return Status::Ok();
  };
  if (Status s = edit(r.users, req.users_add, req.users_remove, "User"); !s.ok()) return s;
  if (Status s = edit(r.accounts, req.accounts_add, req.accounts_remove, "Account"); !s.ok()) {
    return s;
  }
  if (r.users.empty() && r.accounts.empty()) {
    return InvalidArgument("Either Users or Accounts must be specified");
  }
  if (req.flags) {
    auto f = ParseReservationFlags(*req.flags);
    if (!f.ok()) return f.status();
    r.flags = (r.flags & kResvSpecNodes) | *f;
  }
  if (req.flags_add) r.flags |= *ParseReservationFlags(*req.flags_add);
  if (req.flags_remove) {
    const uint32_t off = *ParseReservationFlags(*req.flags_remove);
    if ((r.flags & off) != off) {
      return InvalidArgument("Flag " + ReservationFlagsText(off & ~r.flags) +
                             " is not set on the reservation");
    }
    r.flags &= ~off;
  }
  if (r.Has(kResvDaily) && r.Has(kResvWeekly)) {
    return InvalidArgument("DAILY and WEEKLY cannot both be set");
  }
  const int64_t period = r.Has(kResvWeekly) ? 7 * kDay : r.Has(kResvDaily) ? kDay : 0;
  if (period > 0 && r.end_time - r.start_time > period) {
    return InvalidArgument("Duration is longer than the period of a repeating reservation");
  }

  const Partition* partition = nullptr;
  if (req.partition) r.partition = *req.partition;
  if (!r.partition.empty()) {
    if (env.partitions != nullptr) {
      for (const Partition& p : *env.partitions) {
        if (p.name == r.partition) partition = &p;
      }
    }
    if (partition == nullptr) return InvalidArgument("Invalid partition name specified");
  }

  auto overlapping = [&](const Reservation& cand) -> const Reservation* {
    if (env.reservations == nullptr || cand.Has(kResvOverlap)) return nullptr;
    for (const Reservation& o : *env.reservations) {
      if (o.name == cand.name || o.Has(kResvOverlap) || o.Has(kResvMaint)) continue;
      if (ReservationsOverlap(cand, o)) return &o;
    }
    return nullptr;
  };
  auto busy_past_start = [&](const std::string& node) {
    if (env.busy_until == nullptr) return false;
    auto it = env.busy_until->find(node);
    return it != env.busy_until->end() && it->second > r.start_time;
  };

  // PartitionName without Nodes or NodeCnt at create: all the partition's nodes (as Slurm).
  std::optional<std::string> nodes = req.nodes;
  if (existing == nullptr && !nodes && !req.node_cnt) nodes = "ALL";
  if (nodes) {
    std::vector<std::string> names;
    if (EqualsIgnoreCase(*nodes, "ALL")) {
      for (const Node& n : all) {
        if (partition == nullptr || partition->Contains(n.name)) names.push_back(n.name);
      }
    } else {
      auto expanded = ExpandHostlist(*nodes);
      if (!expanded.ok() || expanded->empty()) {
        return InvalidArgument("Invalid node name specified");
      }
      names = *expanded;
    }
    std::set<std::string> want(names.begin(), names.end());
    r.nodes.clear();
    for (const Node& n : all) {
      if (want.erase(n.name) > 0) r.nodes.push_back(n.name);
    }
    if (!want.empty()) {
      return InvalidArgument("Invalid node name specified (" + *want.begin() + ")");
    }
    if (r.nodes.empty()) return InvalidArgument("Invalid node name specified");
    // Named nodes only; a partition's nodes are not SPEC_NODES (as Slurm).
    if (req.nodes) {
      r.flags |= kResvSpecNodes;
    } else {
      r.flags &= ~static_cast<uint32_t>(kResvSpecNodes);
    }
  } else if (req.node_cnt || (existing != nullptr && req.start)) {
    // Counted nodes are picked again when the count or the window changes.
    const uint32_t count = req.node_cnt ? *req.node_cnt : static_cast<uint32_t>(r.nodes.size());
    if (!r.Has(kResvSpecNodes) || req.node_cnt) {
      std::vector<const Node*> idle, busy;
      for (const Node& n : all) {
        if (partition != nullptr && !partition->Contains(n.name)) continue;
        if (!n.Schedulable() && !r.Has(kResvMaint)) continue;
        Reservation probe = r;
        probe.nodes = {n.name};
        if (overlapping(probe) != nullptr) continue;
        const bool has_jobs = env.busy_until != nullptr && env.busy_until->count(n.name) > 0;
        if (busy_past_start(n.name) && !r.Has(kResvIgnoreJobs)) continue;
        (has_jobs ? busy : idle).push_back(&n);
      }
      idle.insert(idle.end(), busy.begin(), busy.end());
      if (idle.size() < count) {
        return FailedPrecondition("Requested nodes are busy (" + std::to_string(idle.size()) +
                                  " of " + std::to_string(count) + " nodes free over the window)");
      }
      idle.resize(count);
      std::set<const Node*> picked(idle.begin(), idle.end());
      r.nodes.clear();
      for (const Node& n : all) {
        if (picked.count(&n) > 0) r.nodes.push_back(n.name);
      }
      r.flags &= ~static_cast<uint32_t>(kResvSpecNodes);
    }
  }

  if (const Reservation* o = overlapping(r)) {
    std::string shared;
    for (const std::string& n : r.nodes) {
      if (o->HoldsNode(n)) {
        shared = n;
        break;
      }
    }
    return FailedPrecondition("Requested nodes are busy (reservation " + o->name + " holds " +
                              shared + " then; add Flags=OVERLAP to share it)");
  }
  if (!r.Has(kResvIgnoreJobs)) {
    for (const std::string& n : r.nodes) {
      if (busy_past_start(n)) {
        return FailedPrecondition("Requested nodes are busy (jobs on " + n +
                                  " run past StartTime; add Flags=IGNORE_JOBS to reserve it "
                                  "anyway)");
      }
    }
  }
  return r;
}

uint64_t ReservedCpus(const Reservation& r, const std::vector<Node>& nodes) {
  uint64_t cpus = 0;
  for (const Node& n : nodes) {
    if (r.HoldsNode(n.name)) cpus += n.cpus;
  }
  return cpus;
}

std::string FormatReservation(const Reservation& r, uint64_t cores, int64_t now) {
  auto or_null = [](const std::string& s) { return s.empty() ? std::string("(null)") : s; };
  std::string out;
  out += "ReservationName=" + r.name + " StartTime=" + FormatTimestamp(r.start_time) +
         " EndTime=" + FormatTimestamp(r.end_time) +
         " Duration=" + FormatElapsed(r.end_time - r.start_time) + "\n";
  out += "   Nodes=" + or_null(CompressHostlist(r.nodes)) +
         " NodeCnt=" + std::to_string(r.nodes.size()) + " CoreCnt=" + std::to_string(cores) +
         " Features=(null) PartitionName=" + or_null(r.partition) +
         " Flags=" + ReservationFlagsText(r.flags) + "\n";
  out += "   TRES=cpu=" + std::to_string(cores) + "\n";
  out += "   Users=" + or_null(Join(r.users, ",")) +
         " Groups=(null) Accounts=" + or_null(Join(r.accounts, ",")) +
         " Licenses=(null) State=" + (r.ActiveAt(now) ? "ACTIVE" : "INACTIVE") +
         " BurstBuffer=(null) Watts=n/a\n";
  out += "   MaxStartDelay=(null)";
  return out;
}

}  // namespace shoal
