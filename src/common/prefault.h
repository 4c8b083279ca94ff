// Faulting in large, not yet touched buffers with one call.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace shoal {

// Maps the whole pages inside [data, data + bytes) for writing now, in one system call: on
// these VMs a 4 KiB page fault costs microseconds, so a command that fills tens of megabytes
// (100,000 jobs, a listing's answer) spends more on faults one page at a time than on its work.
// Best effort: a kernel without MADV_POPULATE_WRITE leaves the pages to fault as usual.
void PrefaultForWrite(void* data, size_t bytes);

// Asks the kernel for 2 MiB pages over the whole 2 MiB stretches inside [data, data + bytes),
// before they are first touched: one fault and one page-table entry where there would be 512.
// Filling and freeing an 8 MB listing costs ~30 ms less CPU so (bench/RESULTS.md). Only for a
// short-lived command's buffers: the advice stays on the address range after the buffer is freed,
// and a long-running process's heap would go on taking huge pages (and compacting memory for
// them) long after. Where transparent huge pages are off, this does nothing.
void AdviseHugePages(void* data, size_t bytes);

// An uninitialised buffer of a size known up front, to be filled at once (an answer of a known
// length). From 2 MiB up it starts on a 2 MiB boundary and is faulted in on huge pages
// (AdviseHugePages, PrefaultForWrite); from 1 MiB up it is faulted in; smaller ones are plain
// allocations.
struct FreeDeleter {
  void operator()(char* p) const { free(p); }
};
using LargeBuffer = std::unique_ptr<char[], FreeDeleter>;
LargeBuffer AllocateForWrite(size_t bytes);

// Keeps a growing buffer faulted in a stretch ahead of its writes, for a command's buffers
// reserved generously up front (their size is not known until they are full): only what is
// about to be written is faulted in, a megabyte at a time, on huge pages (AdviseHugePages).
class PrefaultAhead {
 public:
  // Call before appending to a buffer at `base` holding `used` of `capacity` bytes.
  void Before(void* base, size_t used, size_t capacity);

 private:
  void* base_ = nullptr;
  size_t done_ = 0;  // bytes of base_ faulted in (or written) so far
};

}  // namespace shoal
