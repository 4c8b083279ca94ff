#include "api/json_table.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

// Collects every cell as text, and the other members.
class RecordingSink : public JsonTableSink {
 public:
  Status Columns(const std::vector<std::string>& names) override {
    columns = names;
    return names.size() == 1 && names[0] == "refuse" ? InvalidArgument("no such column")
                                                      : Status::Ok();
  }
  void BeginRow() override { rows.emplace_back(); }
  bool Cell(size_t, JsonCell& cell) override {
    std::string& out = rows.back().emplace_back();
    switch (cell.kind) {
      case JsonCell::kNull: out = "null"; break;
      case JsonCell::kBool: out = cell.b ? "true" : "false"; break;
      case JsonCell::kInt: out = "i" + std::to_string(cell.i); break;
      case JsonCell::kUint: out = "u" + std::to_string(cell.u); break;
      case JsonCell::kDouble: out = "d" + std::to_string(cell.d); break;
      case JsonCell::kString: out = "s" + *cell.text; break;
      case JsonCell::kNested: out = "n" + cell.nested->dump(); break;
    }
    return out != "sbad";
  }
  Status Member(std::string_view key, std::string_view json) override {
    members.emplace_back(std::string(key) + "=" + std::string(json));
    return Status::Ok();
  }

  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> members;
};

TEST(JsonTableTest, ReadsEveryKindOfCellAndOtherMembers) {
  RecordingSink sink;
  Status s = ReadJsonTable(
      R"({"weights": {"age": 10, "x": [1, "]"]}, "columns": ["a","b","c","d","e","f","g"],)"
      R"( "rows": [[null, true, -3, 7, 0.25, "x\u00e9\n", [1,{"k":2}]], [1e3, false, 0, 1, 2, "", {}]]})",
      "test table", &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sink.columns.size(), 7u);
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.rows[0], (std::vector<std::string>{"null", "true", "i-3", "u7", "d0.250000",
                                                    "sx\xc3\xa9\n", R"(n[1,{"k":2}])"}));
  EXPECT_EQ(sink.rows[1][0], "d1000.000000");
  EXPECT_EQ(sink.rows[1][6], "n{}");
  ASSERT_EQ(sink.members.size(), 1u);
  EXPECT_EQ(sink.members[0], R"(weights={"age": 10, "x": [1, "]"]})");
}

TEST(JsonTableTest, RepeatedNumbersReadTheSameAndChangedOnesDoNot) {
  // A column remembers its last double's text: repeats, near repeats and a malformed number
  // after a good one must all read as a fresh parse would.
  RecordingSink sink;
  Status s = ReadJsonTable(
      R"({"columns":["a","b"],"rows":[[0.5,0.5],[0.5,0.25],[0.50,1e-3],[0.5,0.001],[5e-1,-0.5]]})",
      "test table", &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(sink.rows.size(), 5u);
  EXPECT_EQ(sink.rows[0], (std::vector<std::string>{"d0.500000", "d0.500000"}));
  EXPECT_EQ(sink.rows[1], (std::vector<std::string>{"d0.500000", "d0.250000"}));
  EXPECT_EQ(sink.rows[2], (std::vector<std::string>{"d0.500000", "d0.001000"}));
  EXPECT_EQ(sink.rows[3], (std::vector<std::string>{"d0.500000", "d0.001000"}));
  EXPECT_EQ(sink.rows[4], (std::vector<std::string>{"d0.500000", "d-0.500000"}));
  RecordingSink bad;
  EXPECT_FALSE(
      ReadJsonTable(R"({"columns":["a"],"rows":[[0.5],[0.5.5]]})", "test table", &bad).ok());
}

TEST(JsonTableTest, ArraysOfStringsReadAsAFullParseWouldReadThem) {
  // Arrays of strings take a short path; anything else in an array must come out the same.
  RecordingSink sink;
  Status s = ReadJsonTable(
      R"({"columns":["a"],"rows":[[[]],[["x"]],[ [ "a\"b" , "\u00e9" ] ],[["x",1]],[[1,"x"]],)"
      R"([["x",["y"]]],[["]"]]]})",
      "test table", &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<std::string> cells;
  for (const auto& row : sink.rows) cells.push_back(row.at(0));
  EXPECT_EQ(cells, (std::vector<std::string>{"n[]", R"(n["x"])", "n[\"a\\\"b\",\"\xc3\xa9\"]",
                                             R"(n["x",1])", R"(n[1,"x"])", R"(n["x",["y"]])",
                                             R"(n["]"])"}));
  auto error = [](std::string_view text) {
    RecordingSink bad;
    return ReadJsonTable(text, "test table", &bad);
  };
  EXPECT_FALSE(error(R"({"columns":["a"],"rows":[[["x",]]]})").ok());
  EXPECT_FALSE(error(R"({"columns":["a"],"rows":[[["x" "y"]]]})").ok());
  EXPECT_FALSE(error("{\"columns\":[\"a\"],\"rows\":[[[\"\xff\"]]]}").ok());
  EXPECT_FALSE(error(R"({"columns":["a"],"rows":[[["x")").ok());
}

TEST(JsonTableTest, NamesTheProblem) {
  auto error = [](std::string_view text) {
    RecordingSink sink;
    return ReadJsonTable(text, "test table", &sink);
  };
  EXPECT_EQ(error(R"({"columns":["a"],"rows":[["bad"]]})").message(),
            "test table holds a bad value for 'a'");
  EXPECT_EQ(error(R"({"columns":["a"],"rows":[[1,2]]})").message(),
            "test table holds a row of the wrong width");
  EXPECT_EQ(error(R"({"rows":[],"columns":["a"]})").message(),
            "test table lists rows before its columns");
  EXPECT_EQ(error(R"({"columns":["refuse"],"rows":[]})").message(), "no such column");
  EXPECT_EQ(error(R"({"x":1})").message(), "test table holds no columns");
  EXPECT_EQ(error(R"({"columns":["a"],"rows":[[99999999999999999999999]]})").message(),
            "test table holds a number out of range");
  Status malformed = error(R"({"columns":["a"],"rows":[[1])");
  EXPECT_EQ(malformed.code(), StatusCode::kInternal);
  EXPECT_NE(malformed.message().find("malformed test table: expected"), std::string::npos);
  EXPECT_FALSE(error("{\"columns\":[\"a\"],\"rows\":[[\"\xff\"]]}").ok());
  EXPECT_FALSE(error("").ok());
}

// A table of `rows` rows of two cells each ("a" the row's number, "b" a string), a row per
// line as the controller writes them, and a member after the rows.
std::string TableOfRows(int rows) {
  std::string text = R"({"columns":["a","b"],"rows":[)";
  for (int r = 0; r < rows; ++r) {
    text += (r > 0 ? ",\n[" : "\n[") + std::to_string(r) + R"(,"row )" + std::to_string(r) + "\"]";
  }
  return text + R"(],"after":7})";
}

// Run k's rows, in order, then the next run's: together every row once, as one reader sees them.
std::vector<std::vector<std::string>> RowsOfRuns(const std::vector<RecordingSink>& sinks,
                                                 size_t runs) {
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < runs; ++k)
    rows.insert(rows.end(), sinks[k].rows.begin(), sinks[k].rows.end());
  return rows;
}

TEST(JsonTableTest, RunsReadTheRowsOnceBetweenThem) {
  const std::string text = TableOfRows(1000);
  RecordingSink whole;
  ASSERT_TRUE(ReadJsonTable(text, "test table", &whole).ok());
  for (size_t threads : {1, 2, 3, 8}) {
    std::vector<RecordingSink> sinks(threads);
    std::vector<JsonTableSink*> plain;
    for (RecordingSink& s : sinks) plain.push_back(&s);
    Result<size_t> runs = ReadJsonTableInRuns(text, "test table", plain);
    ASSERT_TRUE(runs.ok()) << runs.status().message();
    EXPECT_EQ(*runs, threads);
    EXPECT_EQ(RowsOfRuns(sinks, *runs), whole.rows) << threads << " threads";
    for (size_t k = 0; k < threads; ++k) {
      EXPECT_EQ(sinks[k].columns, whole.columns);
      EXPECT_GT(sinks[k].rows.size(), 1000 / threads / 2) << "run " << k << " of " << threads;
      // What follows the rows belongs to the run that reads the table's end.
      EXPECT_EQ(sinks[k].members, k + 1 == threads ? whole.members : std::vector<std::string>{});
    }
  }
}

TEST(JsonTableTest, ATableNotWrittenARowPerLineIsReadByTheFirstRun) {
  // No line ends at all: one run.
  std::string flat = TableOfRows(100);
  std::erase(flat, '\n');
  std::vector<RecordingSink> sinks(2);
  Result<size_t> runs = ReadJsonTableInRuns(flat, "test table", {&sinks[0], &sinks[1]});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(*runs, 1u);
  EXPECT_EQ(sinks[0].rows.size(), 100u);
  // Line ends inside the cells (a pretty-printed array) where the split falls: the run before
  // it finds no boundary there and reads on to the end; the later run's rows are not counted.
  std::string pretty = R"({"columns":["a"],"rows":[[[1,2]],[[3,4]],[[)";
  pretty += std::string(200, ' ') + "\n5,\n6\n]],[[7,8]]]}";
  RecordingSink whole;
  ASSERT_TRUE(ReadJsonTable(pretty, "test table", &whole).ok());
  std::vector<RecordingSink> split(2);
  runs = ReadJsonTableInRuns(pretty, "test table", {&split[0], &split[1]});
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  EXPECT_EQ(*runs, 1u);
  EXPECT_EQ(split[0].rows, whole.rows);
}

TEST(JsonTableTest, AnErrorInALaterRunIsTheTablesError) {
  std::string text = TableOfRows(1000);
  const size_t late = text.find("\"row 900\"");
  text.replace(late, 9, "\"bad\"");  // RecordingSink refuses "bad"
  std::vector<RecordingSink> sinks(2);
  Result<size_t> runs = ReadJsonTableInRuns(text, "test table", {&sinks[0], &sinks[1]});
  ASSERT_FALSE(runs.ok());
  EXPECT_EQ(runs.status().message(), "test table holds a bad value for 'b'");
  text = TableOfRows(1000);
  text.resize(text.size() - 12);  // cut short in the last run
  runs = ReadJsonTableInRuns(text, "test table", {&sinks[0], &sinks[1]});
  ASSERT_FALSE(runs.ok());
  EXPECT_EQ(runs.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace shoal
