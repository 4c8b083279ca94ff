#include "common/prefault.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace shoal {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The whole pages of `align` bytes inside [data, data + bytes), or false when there are none.
bool InnerPages(void* data, size_t bytes, uintptr_t align, uintptr_t* begin, uintptr_t* end) {
  *begin = (reinterpret_cast<uintptr_t>(data) + align - 1) & ~(align - 1);
  *end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(align - 1);
  return *end > *begin;
}

}  // namespace

void AdviseHugePages(void* data, size_t bytes) {
  uintptr_t begin, end;
  if (InnerPages(data, bytes, kHugePage, &begin, &end)) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
}

void PrefaultForWrite(void* data, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  uintptr_t begin, end;
  if (InnerPages(data, bytes, 4096, &begin, &end)) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  }
#else
  (void)data;
  (void)bytes;
#endif
}

LargeBuffer AllocateForWrite(size_t bytes) {
  if (bytes < kHugePage) {
    auto* small = static_cast<char*>(malloc(std::max<size_t>(bytes, 1)));
    if (small == nullptr) throw std::bad_alloc();
    if (bytes > (size_t{1} << 20)) PrefaultForWrite(small, bytes);
    return LargeBuffer(small);
  }
  // aligned_alloc wants a multiple of the alignment; the rounding is never touched.
  const size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  auto* large = static_cast<char*>(aligned_alloc(kHugePage, rounded));
  if (large == nullptr) throw std::bad_alloc();
  AdviseHugePages(large, bytes);
  PrefaultForWrite(large, bytes);
  return LargeBuffer(large);
}

void PrefaultAhead::Before(void* base, size_t used, size_t capacity) {
  constexpr size_t kStretch = size_t{1} << 20;
  if (base != base_) {  // a new buffer: what it holds was written when it was copied
    base_ = base;
    done_ = used;
    AdviseHugePages(static_cast<char*>(base) + used, capacity - used);
  }
  if (used + kStretch / 4 < done_ || done_ >= capacity) return;
  const size_t end = std::min(capacity, std::max(done_, used) + kStretch);
  PrefaultForWrite(static_cast<char*>(base) + done_, end - done_);
  done_ = end;
}

}  // namespace shoal
