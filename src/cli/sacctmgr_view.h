// sacctmgr's words and tables, apart from I/O: the command line's words become a request (a
// change for the controller, or a listing), and the accounting database becomes sacctmgr's
// tables (aligned columns, or -p/-P parsable lines).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/accounting.h"

namespace shoal {

enum class SacctmgrEntity : uint8_t { kAccount, kUser, kQos, kAssociation, kEvent };

struct SacctmgrRequest {
  bool show = false;              // show/list; otherwise `change` is what to send
  AccountingChange change;
  SacctmgrEntity entity = SacctmgrEntity::kAccount;  // what show lists
  // show: names and Key=value conditions that filter the rows, format= fields, and the
  // withassoc / tree words.
  std::vector<std::string> names;
  std::vector<std::pair<std::string, std::string>> conditions;
  std::vector<std::string> format;
  bool with_assoc = false;
  bool tree = false;
};

// Parses the words after sacctmgr's options ("add", "user", "alice", "Account=physics", ...).
// Errors are sacctmgr's messages.
Result<SacctmgrRequest> ParseSacctmgrWords(const std::vector<std::string>& words);

struct TableStyle {
  bool header = true;
  bool parsable = false;         // -p: '|' after every field
  bool parsable_no_end = false;  // -P: '|' between fields
};

// The table `request` asks for, from `db`; `cluster` fills the Cluster column. Errors name an
// unknown format field.
Result<std::string> FormatSacctmgrTable(const SacctmgrRequest& request, const AccountingDb& db,
                                        const std::string& cluster, const TableStyle& style);

// One node outage as the controller keeps it (sacctmgr show event).
struct NodeEventRow {
  std::string node;
  std::string state;  // DOWN, DRAIN, POWERED_DOWN
  std::string reason;
  uint32_t cpus = 0;
  int64_t start = 0;
  int64_t end = 0;  // 0: still going on
};

// sacctmgr show event: Cluster NodeName TimeStart TimeEnd State Reason User by default (as
// Slurm; User is not recorded), filtered by Nodes= and States= (Start= and End= are the
// caller's, for the query). Errors name an unknown condition or format field.
Result<std::string> FormatSacctmgrEvents(const SacctmgrRequest& request,
                                         const std::vector<NodeEventRow>& events,
                                         const std::string& cluster, const TableStyle& style);

// The lines sacctmgr prints for a change that did `items` (" Adding Account(s)\n  physics\n...").
std::string DescribeChange(const AccountingChange& change, const std::vector<std::string>& items);

}  // namespace shoal
