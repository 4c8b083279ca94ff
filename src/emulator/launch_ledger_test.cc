#include "emulator/launch_ledger.h"

#include <gtest/gtest.h>

namespace shoal::emulator {
namespace {

TEST(LaunchLedgerTest, CountsJobsLaunchedMoreThanOnceOnAnyNode) {
  LaunchLedger ledger;
  EXPECT_EQ(ledger.Record(7, 1, 0).launches, 0u);
  EXPECT_EQ(ledger.Record(8, 1, 3).launches, 0u);
  EXPECT_EQ(ledger.repeated(), 0u);

  // Job 7 again, on another node and a newer run: what came before is told.
  LaunchLedger::Earlier before = ledger.Record(7, 2, 5);
  EXPECT_EQ(before.launches, 1u);
  EXPECT_EQ(before.node_index, 0u);
  EXPECT_EQ(before.generation, 1u);
  // A third launch of the same job is still one job launched more than once.
  EXPECT_EQ(ledger.Record(7, 3, 1).launches, 2u);

  EXPECT_EQ(ledger.launches(), 4u);
  EXPECT_EQ(ledger.jobs(), 2u);
  EXPECT_EQ(ledger.repeated(), 1u);
}

}  // namespace
}  // namespace shoal::emulator
