#include "cli/step_view.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(StepViewTest, SlurmsDefaultStepColumns) {
  Step s;
  s.job_id = 12;
  s.step_id = 0;
  s.name = "hostname-long";
  s.partition = "debug";
  s.user = "alice";
  s.nodes = {"node1", "node2"};
  s.start_time = 1000;
  EXPECT_EQ(RenderStepList({s}, true, 1065),
            "         STEPID     NAME PARTITION     USER      TIME NODELIST\n"
            "           12.0 hostname     debug    alice      1:05 node[1-2]\n");
  EXPECT_EQ(RenderStepList({}, false, 0), "");
}

}  // namespace
}  // namespace shoal
