// Faulting in large, not yet touched buffers with one call.
#pragma once

#include <cstddef>

namespace shoal {

// Maps the whole pages inside [data, data + bytes) for writing now, in one system call: on
// these VMs a 4 KiB page fault costs microseconds, so a command that fills tens of megabytes
// (100,000 jobs, a listing's answer) spends more on faults one page at a time than on its work.
// Huge pages would be cheaper still, but stall for memory compaction on a busy host. Best
// effort: a kernel without MADV_POPULATE_WRITE leaves the pages to fault as usual.
void PrefaultForWrite(void* data, size_t bytes);

// Keeps a growing buffer faulted in a stretch ahead of its writes, for buffers reserved
// generously up front (their size is not known until they are full): only what is about to be
// written is faulted in, a megabyte at a time.
class PrefaultAhead {
 public:
  // Call before appending to a buffer at `base` holding `used` of `capacity` bytes.
  void Before(void* base, size_t used, size_t capacity);

 private:
  void* base_ = nullptr;
  size_t done_ = 0;  // bytes of base_ faulted in (or written) so far
};

}  // namespace shoal
