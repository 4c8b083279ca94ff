#include "common/prefault.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

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

// A large buffer starts on a huge page's boundary (so that huge pages can cover all of it) and
// holds what is written to every byte of it; a small or empty one is a plain allocation.
TEST(PrefaultTest, LargeBuffersAlignedToHugePages) {
  const size_t large = (size_t{5} << 20) + 123;
  LargeBuffer buf = AllocateForWrite(large);
  ASSERT_NE(buf, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.get()) % (uintptr_t{2} << 20), 0u);
  memset(buf.get(), 'x', large);
  EXPECT_EQ(buf[0], 'x');
  EXPECT_EQ(buf[large - 1], 'x');
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}}) {
    LargeBuffer small = AllocateForWrite(size);
    ASSERT_NE(small, nullptr);
    if (size > 0) small[size - 1] = 'y';
  }
}

}  // namespace
}  // namespace shoal
