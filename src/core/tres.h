// Trackable resources (TRES) as accounting limits name them: "cpu=8,mem=10G,node=2,gres/gpu=4".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// No limit set (a limit field's default; "-1" in sacctmgr's words).
inline constexpr int64_t kNoLimit = -1;

// An amount of each resource shoal tracks; kNoLimit where a limit leaves it free.
struct Tres {
  int64_t cpu = kNoLimit;
  int64_t mem_mb = kNoLimit;
  int64_t node = kNoLimit;
  int64_t gpu = kNoLimit;  // gres/gpu

  bool Empty() const {
    return cpu == kNoLimit && mem_mb == kNoLimit && node == kNoLimit && gpu == kNoLimit;
  }
  bool operator==(const Tres&) const = default;
};

// Applies a TRES list to `tres`: names in any case (cpu, mem, node, gres/gpu; "gpu" too), mem
// with Slurm's units (default MiB), "-1" clears one. Nothing changes when any item is bad: the
// error names it.
Status ParseTres(std::string_view text, Tres& tres);

// The set amounts in Slurm's order and words ("cpu=8,mem=10G,node=2,gres/gpu=4"); "" when none.
std::string FormatTres(const Tres& tres);

// The first resource in which `used + add` exceeds `limit`, as its name ("cpu", "mem", "node",
// "gres/gpu"), or "" when all fit. Unset limits never bind.
std::string_view TresOverLimit(const Tres& limit, const Tres& used, const Tres& add);

}  // namespace shoal
