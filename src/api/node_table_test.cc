#include "api/node_table.h"

#include <gtest/gtest.h>

#include "api/json_model.h"
#include "common/strings.h"

namespace shoal {
namespace {

// A node with every field away from its default, strings needing escapes included.
Node FullNode() {
  Node n;
  n.name = "gpu\"7";
  n.address = "10.0.0.7";
  n.cpus = 128;
  n.memory_mb = 1ull << 40;
  n.gpus = 3;
  n.gpu_type = "h200";
  n.features = {"ib", "fat\\mem"};
  n.responding = true;
  n.drain = true;
  n.down = false;
  n.reason = "bad fan\n\x01 \xC3\xA9";
  n.reserved = 2;
  n.reason_time = 1700000000;
  n.last_heartbeat = 1700000005;
  n.boot_time = -7;
  n.configured = true;
  n.cloud = true;
  n.power = NodePower::kPoweringDown;
  n.power_down_pending = true;
  n.power_since = 1700000009;
  n.alloc_cpus = 64;
  n.alloc_mem_mb = 4096;
  n.gpu_busy = {true, false, true};
  n.running_jobs = {12, 1ull << 50};
  return n;
}

std::string Table(const Node& n, const std::vector<std::string>& names,
                  std::string_view extra = {}) {
  auto columns = ResolveNodeColumns(names);
  EXPECT_TRUE(columns.ok()) << columns.status().message();
  NodeTableWriter writer(std::move(columns).value());
  writer.Add(n);
  return writer.Finish(extra);
}

TEST(NodeTableTest, EveryColumnHoldsWhatTheNodeDocumentHolds) {
  const Node n = FullNode();
  const std::string text = Table(n, AllNodeColumns());
  // Cell for cell, the values NodeToJson writes.
  const Json doc = NodeToJson(n);
  const Json table = Json::parse(text);
  ASSERT_EQ(table["columns"].size(), AllNodeColumns().size());
  for (size_t k = 0; k < AllNodeColumns().size(); ++k) {
    const std::string& name = AllNodeColumns()[k];
    EXPECT_EQ(table["rows"][0][k], doc[name]) << name;
  }
  // And back: the table's node is the DOM's.
  auto decoded = DecodeNodeTable(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->nodes.size(), 1u);
  auto via_dom = NodeFromJson(doc);
  ASSERT_TRUE(via_dom.ok());
  EXPECT_EQ(NodeToJson(decoded->nodes[0]), NodeToJson(*via_dom));
  EXPECT_TRUE(decoded->partitions_json.empty());
}

TEST(NodeTableTest, OnlyTheColumnsAskedForAndTheExtraMembers) {
  const std::string text =
      Table(FullNode(), {"name", "alloc_cpus"}, R"(,"partitions":[{"name":"debug"}])");
  EXPECT_EQ(text,
            R"({"columns":["name","alloc_cpus"],"rows":[["gpu\"7",64]],)"
            R"("partitions":[{"name":"debug"}]})");
  auto decoded = DecodeNodeTable(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->nodes[0].name, "gpu\"7");
  EXPECT_EQ(decoded->nodes[0].alloc_cpus, 64u);
  EXPECT_EQ(decoded->nodes[0].cpus, Node().cpus);  // not asked for: the default
  EXPECT_EQ(decoded->partitions_json, R"([{"name":"debug"}])");
  // No rows at all.
  NodeTableWriter empty(*ResolveNodeColumns({"name"}));
  auto none = DecodeNodeTable(empty.Finish());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->nodes.empty());
}

TEST(NodeTableTest, BadNamesAndValuesAreRefusedByName) {
  auto unknown = ResolveNodeColumns({"name", "colour"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "unknown node field 'colour'");

  auto bad_column = DecodeNodeTable(R"({"columns":["name","colour"],"rows":[]})");
  ASSERT_FALSE(bad_column.ok());
  EXPECT_NE(bad_column.status().message().find("unknown node field 'colour'"), std::string::npos);

  for (const char* text : {
           R"({"columns":["cpus"],"rows":[["four"]]})",          // a string for a number
           R"({"columns":["cpus"],"rows":[[-1]]})",              // below an unsigned field
           R"({"columns":["reserved"],"rows":[[256]]})",         // past a one-byte field
           R"({"columns":["power"],"rows":[[9]]})",              // no such power state
           R"({"columns":["gpu_busy"],"rows":[[[true,1]]]})",    // a number among booleans
           R"({"columns":["running_jobs"],"rows":[[[-4]]]})",    // a negative job id
           R"({"columns":["features"],"rows":[["ib"]]})",        // a string for a list
       }) {
    auto decoded = DecodeNodeTable(text);
    EXPECT_FALSE(decoded.ok()) << text;
    if (!decoded.ok()) EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_FALSE(DecodeNodeTable(R"({"columns":["name","cpus"],"rows":[["n1"]]})").ok())
      << "a short row";
}

}  // namespace
}  // namespace shoal
