// The compact, columnar answer of GET /api/v1/nodes?fields=a,b,...: {"columns":[names],
// "rows":[[v,...],...]} and, with `with=partitions`, a "partitions" member as the full listing
// has it. sinfo over 10,000 nodes spent most of its time building and parsing a DOM of 10,000
// node documents; a table of the fields it needs, written straight into a string and read back
// without a DOM, costs a small part of that. Column names are NodeToJson's keys ("name",
// "alloc_cpus", "state", ...) and values are encoded as NodeToJson encodes them; "state" and
// "state_long" are worked out from the other fields, so reading them back changes nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/model.h"

namespace shoal {

// Every column name, in a fixed order.
const std::vector<std::string>& AllNodeColumns();

// Resolves column names; an unknown one is InvalidArgument naming it.
Result<std::vector<int>> ResolveNodeColumns(const std::vector<std::string>& names);

// Writes a table of the given (resolved) columns, one row per Add.
class NodeTableWriter {
 public:
  explicit NodeTableWriter(std::vector<int> columns);
  void Add(const Node& node);
  // The whole document, with `extra_members` (",\"key\":value..." JSON text, or empty) after
  // the rows; the writer is spent afterwards.
  std::string Finish(std::string_view extra_members = {});

 private:
  std::vector<int> columns_;
  std::string out_;
  bool first_row_ = true;
};

struct NodeTable {
  std::vector<Node> nodes;
  std::string partitions_json;  // the "partitions" member's JSON text, if the answer had one
};

// Reads a table back into nodes: the named columns are set, every other field keeps its
// default. Unknown columns, rows of the wrong width and values of the wrong type are
// InvalidArgument.
Result<NodeTable> DecodeNodeTable(std::string_view text);

}  // namespace shoal
