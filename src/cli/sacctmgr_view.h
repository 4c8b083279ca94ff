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

enum class SacctmgrEntity : uint8_t { kAccount, kUser, kQos, kAssociation };

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

// The lines sacctmgr prints for a change that did `items` (" Adding Account(s)\n  physics\n...").
std::string DescribeChange(const AccountingChange& change, const std::vector<std::string>& items);

}  // namespace shoal
