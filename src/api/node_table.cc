#include "api/node_table.h"

#include "api/json_table.h"
#include "api/table_values.h"

namespace shoal {
namespace {

using table_values::AppendValue;
using table_values::ReadValue;

using Encoder = void (*)(const Node&, std::string*);
using Decoder = bool (*)(JsonCell&, Node*);  // false: the value has the wrong type or range

struct Column {
  const char* name;
  Encoder encode;
  Decoder decode;
};

template <auto Member>
void EncodeNode(const Node& n, std::string* out) {
  AppendValue(n.*Member, out);
}
template <auto Member>
bool DecodeNode(JsonCell& c, Node* n) {
  return ReadValue(c, n->*Member);
}

void EncodePower(const Node& n, std::string* out) {
  AppendValue(static_cast<int>(n.power), out);
}
bool DecodePower(JsonCell& c, Node* n) {
  int power = static_cast<int>(n->power);
  if (!ReadValue(c, power)) return false;
  if (power < static_cast<int>(NodePower::kOn) || power > static_cast<int>(NodePower::kPoweringDown)) {
    return false;
  }
  n->power = static_cast<NodePower>(power);
  return true;
}

// Worked out from the other fields: written for the reader's convenience, never read back.
template <bool kLong>
void EncodeState(const Node& n, std::string* out) {
  AppendValue(n.StateText(kLong), out);
}
bool IgnoreString(JsonCell& c, Node*) { return c.kind == JsonCell::kString; }

#define SHOAL_NODE_COL(member) \
  Column { #member, &EncodeNode<&Node::member>, &DecodeNode<&Node::member> }

const Column kColumns[] = {
    SHOAL_NODE_COL(name),
    SHOAL_NODE_COL(address),
    SHOAL_NODE_COL(cpus),
    SHOAL_NODE_COL(memory_mb),
    SHOAL_NODE_COL(gpus),
    SHOAL_NODE_COL(gpu_type),
    SHOAL_NODE_COL(features),
    SHOAL_NODE_COL(responding),
    SHOAL_NODE_COL(drain),
    SHOAL_NODE_COL(down),
    SHOAL_NODE_COL(reason),
    SHOAL_NODE_COL(reserved),
    SHOAL_NODE_COL(reason_time),
    SHOAL_NODE_COL(last_heartbeat),
    SHOAL_NODE_COL(boot_time),
    SHOAL_NODE_COL(configured),
    SHOAL_NODE_COL(cloud),
    Column{"power", &EncodePower, &DecodePower},
    SHOAL_NODE_COL(power_down_pending),
    SHOAL_NODE_COL(power_since),
    SHOAL_NODE_COL(alloc_cpus),
    SHOAL_NODE_COL(alloc_mem_mb),
    SHOAL_NODE_COL(gpu_busy),
    SHOAL_NODE_COL(running_jobs),
    Column{"state", &EncodeState<false>, &IgnoreString},
    Column{"state_long", &EncodeState<true>, &IgnoreString},
};

#undef SHOAL_NODE_COL

int FindColumn(std::string_view name) {
  for (int k = 0; k < static_cast<int>(std::size(kColumns)); ++k) {
    if (name == kColumns[k].name) return k;
  }
  return -1;
}

class NodeTableSink : public JsonTableSink {
 public:
  explicit NodeTableSink(NodeTable* table) : table_(table) {}

  Status Columns(const std::vector<std::string>& names) override {
    for (const std::string& name : names) {
      int col = FindColumn(name);
      if (col < 0) return InvalidArgument("node table holds unknown node field '" + name + "'");
      columns_.push_back(col);
    }
    return Status::Ok();
  }
  void BeginRow() override { node_ = &table_->nodes.emplace_back(); }
  bool Cell(size_t column, JsonCell& cell) override {
    return kColumns[columns_[column]].decode(cell, node_);
  }
  Status Member(std::string_view key, std::string_view json) override {
    if (key == "partitions") table_->partitions_json = json;
    return Status::Ok();
  }

 private:
  NodeTable* table_;
  Node* node_ = nullptr;
  std::vector<int> columns_;
};

}  // namespace

const std::vector<std::string>& AllNodeColumns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Column& c : kColumns) out.push_back(c.name);
    return out;
  }();
  return names;
}

Result<std::vector<int>> ResolveNodeColumns(const std::vector<std::string>& names) {
  std::vector<int> out;
  out.reserve(names.size());
  for (const std::string& n : names) {
    int col = FindColumn(n);
    if (col < 0) return InvalidArgument("unknown node field '" + n + "'");
    out.push_back(col);
  }
  return out;
}

NodeTableWriter::NodeTableWriter(std::vector<int> columns) : columns_(std::move(columns)) {
  out_ = "{\"columns\":[";
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    AppendJsonString(kColumns[columns_[k]].name, &out_);
  }
  out_ += "],\"rows\":[";
}

void NodeTableWriter::Add(const Node& node) {
  if (!first_row_) out_.push_back(',');
  first_row_ = false;
  out_.push_back('[');
  for (size_t k = 0; k < columns_.size(); ++k) {
    if (k > 0) out_.push_back(',');
    kColumns[columns_[k]].encode(node, &out_);
  }
  out_.push_back(']');
}

std::string NodeTableWriter::Finish(std::string_view extra_members) {
  out_ += "]";
  out_ += extra_members;
  out_ += "}";
  return std::move(out_);
}

Result<NodeTable> DecodeNodeTable(std::string_view text) {
  // Growing a vector of 10,000 Nodes moves them over and over; "],[" separates rows (and,
  // rarely, nested arrays), so counting it is a cheap, close upper bound.
  size_t rows = 1;
  for (size_t at = text.find("],["); at != std::string_view::npos; at = text.find("],[", at + 3)) {
    ++rows;
  }
  NodeTable table;
  table.nodes.reserve(rows);
  NodeTableSink sink(&table);
  Status s = ReadJsonTable(text, "node table", &sink);
  if (!s.ok()) return s;
  return table;
}

}  // namespace shoal
