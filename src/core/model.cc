#include "core/model.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace shoal {
namespace {

struct StateNames {
  JobState state;
  const char* name;
  const char* short_name;
};

constexpr std::array<StateNames, 11> kStateNames = {{
    {JobState::kPending, "PENDING", "PD"},
    {JobState::kRunning, "RUNNING", "R"},
    {JobState::kSuspended, "SUSPENDED", "S"},
    {JobState::kCompleting, "COMPLETING", "CG"},
    {JobState::kCompleted, "COMPLETED", "CD"},
    {JobState::kCancelled, "CANCELLED", "CA"},
    {JobState::kFailed, "FAILED", "F"},
    {JobState::kTimeout, "TIMEOUT", "TO"},
    {JobState::kNodeFail, "NODE_FAIL", "NF"},
    {JobState::kPreempted, "PREEMPTED", "PR"},
    {JobState::kOutOfMemory, "OUT_OF_MEMORY", "OOM"},
}};

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

const char* JobStateName(JobState s) { return kStateNames[static_cast<size_t>(s)].name; }
const char* JobStateShortName(JobState s) {
  return kStateNames[static_cast<size_t>(s)].short_name;
}

std::optional<JobState> ParseJobState(std::string_view text) {
  // Records and API answers spell states exactly; only what users type needs the slow path.
  for (const auto& n : kStateNames) {
    if (text == n.name) return n.state;
  }
  for (const auto& n : kStateNames) {
    if (SameIgnoringCase(text, n.name) || SameIgnoringCase(text, n.short_name)) return n.state;
  }
  return std::nullopt;
}

bool IsFinished(JobState s) {
  return s != JobState::kPending && s != JobState::kRunning && s != JobState::kSuspended &&
         s != JobState::kCompleting;
}

std::string Job::DisplayId() const {
  if (array_job_id == 0) return std::to_string(id);
  return std::to_string(array_job_id) + "_" + std::to_string(array_task_id);
}

std::string StepUsage::IdText() const {
  return std::to_string(job_id) + "." + (batch ? std::string("batch") : std::to_string(step_id));
}

std::string Step::DisplayId() const {
  const std::string job = array_job_id == 0 ? std::to_string(job_id)
                                            : std::to_string(array_job_id) + "_" +
                                                  std::to_string(array_task_id);
  return job + "." + std::to_string(step_id);
}

const char* NodePowerFlag(NodePower p) {
  switch (p) {
    case NodePower::kOn: return "";
    case NodePower::kPoweredDown: return "POWERED_DOWN";
    case NodePower::kPoweringUp: return "POWERING_UP";
    case NodePower::kPoweringDown: return "POWERING_DOWN";
  }
  return "";
}

NodeState Node::BaseState() const {
  // A node powered down by power saving is idle, not failed: allocating it resumes it.
  if (down || (!responding && power == NodePower::kOn)) return NodeState::kDown;
  if (alloc_cpus == 0 && running_jobs.empty()) return NodeState::kIdle;
  if (alloc_cpus >= cpus) return NodeState::kAllocated;
  return NodeState::kMixed;
}

std::string Node::StateText(bool long_form) const {
  // sinfo's vocabulary: a drained node with work is "draining", without is "drained"; a
  // node that stopped answering gets a trailing '*'.
  const bool busy = alloc_cpus > 0 || !running_jobs.empty();
  std::string text;
  if (down) {
    text = "down";
  } else if (drain) {
    text = busy ? (long_form ? "draining" : "drng") : (long_form ? "drained" : "drain");
  } else if (!responding && boot_time == 0 && power == NodePower::kOn) {
    text = long_form ? "unknown" : "unk";
  } else if (!busy && reserved == 2) {
    text = "maint";
  } else if (!busy && reserved == 1) {
    text = long_form ? "reserved" : "resv";
  } else if (!busy) {
    // A silent node not yet declared down shows its allocation state ("idle*"), as in sinfo.
    text = "idle";
  } else if (alloc_cpus >= cpus) {
    text = long_form ? "allocated" : "alloc";
  } else {
    text = long_form ? "mixed" : "mix";
  }
  // Power saving's suffix stands for "not responding" too: a resumed node is silent until it
  // registers, a suspended one is meant to be.
  switch (power) {
    case NodePower::kPoweredDown: text += "~"; break;
    case NodePower::kPoweringUp: text += "#"; break;
    case NodePower::kPoweringDown: text += "%"; break;
    case NodePower::kOn:
      if (power_down_pending) {
        text += "!";
      } else if (!responding) {
        text += "*";
      }
      break;
  }
  return text;
}

bool Partition::Contains(const std::string& node_name) const {
  if (all_nodes) return true;
  return std::find(nodes.begin(), nodes.end(), node_name) != nodes.end();
}

}  // namespace shoal
