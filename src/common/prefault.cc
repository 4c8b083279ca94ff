#include "common/prefault.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

namespace shoal {

void PrefaultForWrite(void* data, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  constexpr uintptr_t kPage = 4096;
  auto begin = (reinterpret_cast<uintptr_t>(data) + kPage - 1) & ~(kPage - 1);
  auto end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kPage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)bytes;
#endif
}

void PrefaultAhead::Before(void* base, size_t used, size_t capacity) {
  constexpr size_t kStretch = size_t{1} << 20;
  if (base != base_) {  // a new buffer: what it holds was written when it was copied
    base_ = base;
    done_ = used;
  }
  if (used + kStretch / 4 < done_ || done_ >= capacity) return;
  const size_t end = std::min(capacity, std::max(done_, used) + kStretch);
  PrefaultForWrite(static_cast<char*>(base) + done_, end - done_);
  done_ = end;
}

}  // namespace shoal
