#include "cli/sinfo_view.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/hostlist.h"
#include "common/slurm_time.h"
#include "common/strings.h"

namespace shoal {
namespace {

struct CodeInfo {
  char code;
  const char* title;
  const char* name;  // -O name, lower case
};

constexpr CodeInfo kCodes[] = {
    {'a', "AVAIL", "available"},
    {'A', "NODES(A/I)", "nodeai"},
    {'b', "ACTIVE_FEATURES", "featuresact"},
    {'c', "CPUS", "cpus"},
    {'C', "CPUS(A/I/O/T)", "cpusstate"},
    {'d', "TMP_DISK", "disk"},
    {'D', "NODES", "nodes"},
    {'e', "FREE_MEM", "freemem"},
    {'E', "REASON", "reason"},
    {'f', "AVAIL_FEATURES", "features"},
    {'F', "NODES(A/I/O/T)", "nodeaiot"},
    {'g', "GROUPS", "groups"},
    {'G', "GRES", "gres"},
    {'h', "OVERSUBSCRIBE", "oversubscribe"},
    {'H', "TIMESTAMP", "timestamp"},
    {'l', "TIMELIMIT", "time"},
    {'L', "DEFAULTTIME", "defaulttime"},
    {'m', "MEMORY", "memory"},
    {'M', "PREEMPT_MODE", "preemptmode"},
    {'n', "HOSTNAMES", "nodehost"},
    {'N', "NODELIST", "nodelist"},
    {'o', "NODE_ADDR", "nodeaddr"},
    {'O', "CPU_LOAD", "cpusload"},
    {'P', "PARTITION", "partition"},
    {'r', "ROOT", "root"},
    {'R', "PARTITION", "partitionname"},
    {'s', "JOB_SIZE", "size"},
    {'S', "ALLOCNODES", "allocnodes"},
    {'t', "STATE", "statecompact"},
    {'T', "STATE", "statelong"},
    {'u', "USER", "user"},
    {'U', "USER", "userlong"},
    {'V', "CLUSTER", "cluster"},
    {'w', "WEIGHT", "weight"},
    {'X', "SOCKETS", "sockets"},
    {'Y', "CORES", "cores"},
    {'z', "S:C:T", "socketcorethread"},
    {'Z', "THREADS", "threads"},
};

// Fields that sum or list the nodes of a line rather than tell them apart.
constexpr std::string_view kAggregateCodes = "DNnoAFC";
// Fields that belong to the partition.
constexpr std::string_view kPartitionCodes = "PaglLRshrSMV";

// Node::StateText, with sinfo's compact "mix" for a mixed node.
std::string StateText(const Node& n, bool long_form) {
  std::string s = n.StateText(long_form);
  if (!long_form && s.starts_with("mixed")) s.erase(3, 2);
  return s;
}

bool Busy(const Node& n) { return n.alloc_cpus > 0 || !n.running_jobs.empty(); }

// Slurm's numeric node state (base state plus flags), which sinfo sorts by, descending.
int StateNumber(const Node& n) {
  int base = 0;
  if (n.down) {
    base = 1;
  } else if (!n.responding && n.boot_time == 0 && n.power == NodePower::kOn) {
    base = 0;
  } else {
    switch (n.BaseState()) {
      case NodeState::kUnknown:
        base = 0;
        break;
      case NodeState::kDown:
        base = 1;
        break;
      case NodeState::kIdle:
        base = 2;
        break;
      case NodeState::kAllocated:
        base = 3;
        break;
      case NodeState::kMixed:
        base = 5;
        break;
    }
  }
  if (n.drain) base |= 0x200;
  if (!n.responding && n.power == NodePower::kOn) base |= 0x800;
  return base;
}

// A (allocated or mixed), I (idle), O (other: down, drained, not responding).
char NodeClass(const Node& n) {
  if (n.down || (!n.responding && n.power == NodePower::kOn)) return 'O';
  if (n.drain && !Busy(n)) return 'O';
  if (Busy(n)) return 'A';
  return 'I';
}

std::string LimitText(int64_t seconds, const char* unlimited) {
  return seconds == kUnlimited ? unlimited : FormatDuration(seconds);
}

// A per-node number: the common value, or the smallest followed by '+' when they differ.
template <typename F>
std::string NodeNumber(const SinfoLine& line, F get) {
  if (line.nodes.empty()) return "0";
  auto lo = get(*line.nodes.front());
  bool same = true;
  for (const Node* n : line.nodes) {
    auto v = get(*n);
    if (v != lo) same = false;
    lo = std::min(lo, v);
  }
  return std::to_string(lo) + (same ? "" : "+");
}

std::string GresText(const Node& n) {
  if (n.gpus == 0) return "(null)";
  return "gpu:" + (n.gpu_type.empty() ? "" : n.gpu_type + ":") + std::to_string(n.gpus);
}

std::string FeaturesText(const Node& n) {
  return n.features.empty() ? "(null)" : Join(n.features, ",");
}

std::string ReasonText(const Node& n) {
  if (!n.reason.empty()) return n.reason;
  if (!n.responding && n.boot_time != 0) return "Not responding";
  return "none";
}

// Names ordered as Slurm lists nodes: by prefix, then by number ("n2" before "n10").
bool NodeNameLess(std::string_view a, std::string_view b) {
  // Views, not copies: sinfo sorts every node of the cluster with this.
  auto split = [](std::string_view s) {
    size_t i = s.size();
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') --i;
    return std::make_pair(s.substr(0, i), s.substr(i));
  };
  auto [pa, na] = split(a);
  auto [pb, nb] = split(b);
  if (pa != pb) return pa < pb;
  if (na.size() != nb.size()) return na.size() < nb.size();
  return na < nb;
}

}  // namespace

std::vector<FieldSpec> ParseSinfoFormat(std::string_view format, bool named,
                                        const std::function<void(std::string_view)>& on_invalid) {
  std::vector<FieldSpec> out;
  if (!named) {
    std::string valid;
    for (const CodeInfo& c : kCodes) valid.push_back(c.code);
    out = ParsePercentFormat(format, valid, [&](char c) {
      if (on_invalid) on_invalid(std::string_view(&c, 1));
    });
    for (FieldSpec& f : out) f.cut = f.code != 'l' && f.code != 'L';
    return out;
  }
  for (FieldSpec& f : ParseNamedFormat(format, 20)) {
    std::string lower = ToLower(f.name);
    const CodeInfo* found = nullptr;
    for (const CodeInfo& c : kCodes) {
      if (lower == c.name) found = &c;
    }
    if (lower == "nodes") {
      for (const CodeInfo& c : kCodes) {
        if (c.code == 'D') found = &c;
      }
    }
    if (found == nullptr) {
      if (on_invalid) on_invalid(f.name);
      continue;
    }
    f.code = found->code;
    out.push_back(std::move(f));
  }
  return out;
}

std::string SinfoFieldTitle(const FieldSpec& f) {
  for (const CodeInfo& c : kCodes) {
    if (c.code == f.code) return c.title;
  }
  return "";
}

std::string SinfoFieldValue(const FieldSpec& f, const SinfoLine& line) {
  const Partition* p = line.partition;
  const Node* first = line.nodes.empty() ? nullptr : line.nodes.front();
  auto names = [&] {
    std::vector<std::string> v;
    for (const Node* n : line.nodes) v.push_back(n->name);
    return v;
  };
  switch (f.code) {
    case 'P': {
      if (p == nullptr) return "n/a";
      if (!p->is_default) return p->name;
      // The default mark survives truncation: "debug" in 3 columns is "de*".
      if (f.width > 0 && p->name.size() + 1 > static_cast<size_t>(f.width)) {
        return p->name.substr(0, static_cast<size_t>(f.width) - 1) + "*";
      }
      return p->name + "*";
    }
    case 'R':
      return p == nullptr ? "n/a" : p->name;
    case 'a':
      if (p == nullptr) return "n/a";
      if (p->inactive) return "inact";
      if (p->drain) return "drain";
      return p->up ? "up" : "down";
    case 'l':
      return p == nullptr ? "n/a" : LimitText(p->max_time_s, "infinite");
    case 'L':
      return p == nullptr ? "n/a" : LimitText(p->default_time_s, "n/a");
    case 's':
      if (p == nullptr) return "n/a";
      return "1-" + (p->max_nodes == 0 ? std::string("infinite") : std::to_string(p->max_nodes));
    case 'h':
      return "NO";
    case 'g':
    case 'S':
      return "all";
    case 'r':
      return "no";
    case 'M':
      return "OFF";
    case 'V':
      return "N/A";
    case 'D':
      return std::to_string(line.nodes.size());
    case 'N':
      return CompressHostlist(names());
    case 'n':
      return CompressHostlist(names());
    case 'o': {
      std::vector<std::string> addrs;
      for (const Node* n : line.nodes) addrs.push_back(n->address.empty() ? n->name : n->address);
      return CompressHostlist(addrs);
    }
    case 'A':
    case 'F':
    case 'C': {
      uint64_t a = 0, i = 0, o = 0, t = 0;
      for (const Node* n : line.nodes) {
        char cls = NodeClass(*n);
        if (f.code == 'C') {
          if (cls == 'O') {
            o += n->cpus;
          } else {
            uint32_t alloc = std::min(n->alloc_cpus, n->cpus);
            a += alloc;
            i += n->cpus - alloc;
          }
          t += n->cpus;
        } else {
          (cls == 'A' ? a : cls == 'I' ? i : o) += 1;
          t += 1;
        }
      }
      if (f.code == 'A') return std::to_string(a) + "/" + std::to_string(i);
      return std::to_string(a) + "/" + std::to_string(i) + "/" + std::to_string(o) + "/" +
             std::to_string(t);
    }
    case 'c':
    case 'X':
      return NodeNumber(line, [](const Node& n) { return n.cpus; });
    case 'm':
      return NodeNumber(line, [](const Node& n) { return n.memory_mb; });
    case 'z':
      return NodeNumber(line, [](const Node& n) { return n.cpus; }) + ":1:1";
    case 'Y':
    case 'Z':
    case 'w':
      return "1";
    case 'd':
      return "0";
    case 'O':
    case 'e':
      return "N/A";
    case 't':
      return first == nullptr ? "n/a" : StateText(*first, false);
    case 'T':
      return first == nullptr ? "n/a" : StateText(*first, true);
    case 'G':
      return first == nullptr ? "(null)" : GresText(*first);
    case 'f':
    case 'b':
      return first == nullptr ? "(null)" : FeaturesText(*first);
    case 'E':
      return first == nullptr ? "none" : ReasonText(*first);
    case 'H':
      return first == nullptr ? "Unknown" : FormatTimestamp(first->reason_time, "Unknown");
    case 'u':
    case 'U':
      return "Unknown";  // who set the reason is not recorded
    default:
      return "";
  }
}

std::vector<SinfoLine> BuildSinfoLines(const std::vector<FieldSpec>& fields,
                                       const std::vector<Partition>& partitions,
                                       const std::vector<Node>& nodes, SinfoMode mode) {
  // The node fields that tell lines apart.
  std::vector<FieldSpec> key_fields;
  for (const FieldSpec& f : fields) {
    if (f.code == 0 || kAggregateCodes.find(f.code) != std::string_view::npos ||
        kPartitionCodes.find(f.code) != std::string_view::npos) {
      continue;
    }
    FieldSpec k = f;
    k.width = 0;  // compare whole values, not what fits the column
    key_fields.push_back(k);
  }
  auto key_of = [&](const Node& n) {
    SinfoLine one;
    one.nodes = {&n};
    std::string key;
    for (const FieldSpec& f : key_fields) key += SinfoFieldValue(f, one) + '\x1f';
    return key;
  };
  std::vector<const Node*> sorted;
  for (const Node& n : nodes) sorted.push_back(&n);
  std::sort(sorted.begin(), sorted.end(),
            [](const Node* a, const Node* b) { return NodeNameLess(a->name, b->name); });

  std::vector<SinfoLine> lines;
  auto sort_by_state = [](std::vector<SinfoLine>::iterator begin,
                          std::vector<SinfoLine>::iterator end) {
    std::stable_sort(begin, end, [](const SinfoLine& a, const SinfoLine& b) {
      int sa = a.nodes.empty() ? -1 : StateNumber(*a.nodes.front());
      int sb = b.nodes.empty() ? -1 : StateNumber(*b.nodes.front());
      return sa > sb;
    });
  };

  if (mode == SinfoMode::kReasons) {
    std::map<std::string, size_t> by_key;
    for (const Node* n : sorted) {
      if (!n->drain && !n->down && (n->responding || n->power != NodePower::kOn)) continue;
      auto [it, inserted] = by_key.emplace(key_of(*n), lines.size());
      if (inserted) lines.push_back(SinfoLine{nullptr, {}});
      lines[it->second].nodes.push_back(n);
    }
    return lines;
  }
  if (mode == SinfoMode::kNode) {
    for (const Node* n : sorted) {
      for (const Partition& p : partitions) {
        if (p.Contains(n->name)) lines.push_back(SinfoLine{&p, {n}});
      }
    }
    return lines;
  }
  for (const Partition& p : partitions) {
    size_t start = lines.size();
    std::map<std::string, size_t> by_key;
    for (const Node* n : sorted) {
      if (!p.Contains(n->name)) continue;
      std::string key = mode == SinfoMode::kSummarize ? std::string() : key_of(*n);
      auto [it, inserted] = by_key.emplace(key, lines.size());
      if (inserted) lines.push_back(SinfoLine{&p, {}});
      lines[it->second].nodes.push_back(n);
    }
    // A partition with no node left after the filters still gets its line: "0  n/a".
    if (lines.size() == start) lines.push_back(SinfoLine{&p, {}});
    if (mode == SinfoMode::kPartition) sort_by_state(lines.begin() + start, lines.end());
  }
  return lines;
}

std::string RenderSinfo(const std::vector<FieldSpec>& fields, const std::vector<SinfoLine>& lines,
                        bool header) {
  std::string out;
  if (header) {
    out += RenderLine(
        fields, [](const FieldSpec& f) { return SinfoFieldTitle(f); }, true);
    out += '\n';
  }
  for (const SinfoLine& line : lines) {
    out += RenderLine(fields, [&](const FieldSpec& f) { return SinfoFieldValue(f, line); });
    out += '\n';
  }
  return out;
}

void SizeNodeNameField(std::vector<FieldSpec>* fields, const std::vector<Node>& nodes) {
  size_t width = 9;
  for (const Node& n : nodes) width = std::max(width, n.name.size());
  for (FieldSpec& f : *fields) {
    if (f.code == 'N' && f.width == 0) f.width = static_cast<int>(width);
  }
}

bool SinfoStateNameValid(std::string_view state) {
  static constexpr std::string_view kNames[] = {
      "unknown",       "down",         "idle",       "allocated",   "?",
      "mixed",         "future",       "drain",      "drained",     "draining",
      "no_respond",    "reserved",     "perfctrs",   "cloud",       "completing",
      "powering_down", "powered_down", "power_down", "powering_up", "fail",
      "maint",         "reboot",       "reboot^",    "alloc",       "mix",
      "drng",          "unk",          "comp",       "resv"};
  std::string want = ToLower(state);
  if (want.empty()) return false;
  for (std::string_view n : kNames) {
    // Slurm takes any leading part of a state name ("al" for allocated).
    if (n.substr(0, want.size()) == want && (want.size() >= 2 || n.size() == 1)) return true;
  }
  return false;
}

bool SinfoStateMatches(const Node& node, std::string_view state) {
  std::string want = ToLower(state);
  std::string compact = StateText(node, false);
  std::string full = StateText(node, true);
  if (!compact.empty() && compact.back() == '*') compact.pop_back();
  if (!full.empty() && full.back() == '*') full.pop_back();
  if (want == compact || want == full) return true;
  if (std::string_view("allocated").starts_with(want) && want.size() >= 2) {
    return compact == "alloc";
  }
  if (std::string_view("mixed").starts_with(want) && want.size() >= 2) return compact == "mix";
  if (want == "drain" || want == "drained" || want == "draining" || want == "drng") {
    return node.drain;
  }
  if (want == "down") return node.down || (!node.responding && node.power == NodePower::kOn);
  if (want == "cloud") return node.cloud;
  if (want == "powered_down" || want == "power_down") {
    return node.power == NodePower::kPoweredDown;
  }
  if (want == "powering_up") return node.power == NodePower::kPoweringUp;
  if (want == "powering_down") return node.power == NodePower::kPoweringDown;
  if (want == "unk" || want == "unknown") return compact == "unk";
  if (want == "resp" || want == "responding") return node.responding;
  if (want == "no_respond" || want == "noresp") return !node.responding;
  return false;
}

std::string RenderSinfoReservations(const std::vector<Reservation>& reservations, bool header,
                                    int64_t now) {
  if (reservations.empty()) return "No reservations in the system\n";
  size_t width = 9;
  for (const Reservation& r : reservations) width = std::max(width, r.name.size());
  auto line = [&](std::string_view name, std::string_view state, std::string_view start,
                  std::string_view end, std::string_view duration, std::string_view nodes) {
    return FitField(name, static_cast<int>(width), false) + "  " + FitField(state, 8, true, false) +
           "  " + FitField(start, 19, true, false) + "  " + FitField(end, 19, true, false) + "  " +
           FitField(duration, 11, true, false) + "  " + std::string(nodes) + "\n";
  };
  std::string out;
  if (header) out += line("RESV_NAME", "STATE", "START_TIME", "END_TIME", "DURATION", "NODELIST");
  for (const Reservation& r : reservations) {
    // Slurm counts the end second as active here.
    const bool active = r.start_time <= now && now <= r.end_time;
    out += line(r.name, active ? "ACTIVE" : "INACTIVE", FormatTimestamp(r.start_time),
                FormatTimestamp(r.end_time), FormatElapsed(r.end_time - r.start_time),
                CompressHostlist(r.nodes));
  }
  return out;
}

}  // namespace shoal
