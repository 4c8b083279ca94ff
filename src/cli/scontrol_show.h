// scontrol show's records (job, node, partition, config) rendered from model values in
// Slurm's multi-line "Key=Value" layout, or one record per line with --oneliner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/job_fields.h"
#include "core/model.h"

namespace shoal {

std::string RenderJobRecord(const JobRow& row, int64_t now, bool oneliner);
// `nodes` resolves a partition's node list and totals.
std::string RenderPartitionRecord(const Partition& p, const std::vector<Node>& nodes,
                                  bool oneliner);
// `partitions` tells which partitions hold the node.
std::string RenderNodeRecord(const Node& n, const std::vector<Partition>& partitions,
                             bool oneliner);
// "Configuration data as of ..." and "Key = Value" lines.
std::string RenderConfig(const std::map<std::string, std::string>& config, int64_t now);

// scontrol's node state: "IDLE", "MIXED", "ALLOCATED+DRAIN", "DOWN+NOT_RESPONDING", ...
std::string ScontrolNodeState(const Node& n);

}  // namespace shoal
