#include "common/prefault.h"

#include <string>

#include <gtest/gtest.h>

namespace shoal {
namespace {

// Faulting in is a hint to the kernel: whatever a buffer holds, and its growth past what was
// reserved, are untouched by it.
TEST(PrefaultTest, LeavesContentsAlone) {
  std::string buf;
  buf.reserve(size_t{1} << 19);
  PrefaultAhead ahead;
  for (int k = 0; k < 100000; ++k) {
    ahead.Before(buf.data(), buf.size(), buf.capacity());
    buf += "line " + std::to_string(k) + "\n";  // outgrows the reservation: a new buffer
  }
  EXPECT_GT(buf.size(), size_t{1} << 20);
  EXPECT_EQ(buf.substr(0, 14), "line 0\nline 1\n");
  EXPECT_EQ(buf.substr(buf.size() - 11), "line 99999\n");
  PrefaultForWrite(buf.data(), buf.size());
  PrefaultForWrite(nullptr, 0);
  EXPECT_EQ(buf.substr(buf.size() - 11), "line 99999\n");
}

}  // namespace
}  // namespace shoal
