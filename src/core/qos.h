// Quality of service: a named class of jobs with a priority, limits and preemption rights.
// sacctmgr manages them (core/accounting.h); the controller's config file may define some too
// (a shoal line in slurm.conf syntax). The QOS "normal" always exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/model.h"
#include "core/tres.h"

namespace shoal {

inline constexpr char kDefaultQos[] = "normal";

// How a preempted job is stopped. kOff: jobs of this QOS are never preempted.
enum class PreemptMode : uint8_t { kOff, kCancel, kRequeue };

// "OFF", "CANCEL", "REQUEUE".
const char* PreemptModeName(PreemptMode m);
// Any case; nullopt when unknown (Slurm's SUSPEND and GANG are not supported).
std::optional<PreemptMode> ParsePreemptMode(std::string_view text);

struct Qos {
  std::string name;                         // lower case, as Slurm keeps QOS names
  uint32_t priority = 0;                    // Priority: the QOS factor is this over the largest
  std::vector<std::string> preempt;         // Preempt: QOS whose running jobs this one may preempt
  std::optional<PreemptMode> preempt_mode;  // PreemptMode for jobs *of this QOS*; unset: cluster's
  int64_t grace_time_s = 0;                 // GraceTime: SIGTERM to SIGKILL when preempted
  uint32_t max_jobs_per_user = 0;           // MaxJobsPerUser: running jobs; 0: no limit
  uint32_t max_submit_jobs_per_user = 0;    // MaxSubmitJobsPerUser: pending + running; 0: no limit
  int64_t max_wall_s = -1;                  // MaxWall (MaxWallDurationPerJob); -1: no limit
  double usage_factor = 1.0;                // UsageFactor: scales the fair-share usage charged
  Tres grp_tres;                            // GrpTRES: resources of all its running jobs
  int64_t grp_jobs = kNoLimit;              // GrpJobs: its running jobs
  int64_t grp_submit = kNoLimit;            // GrpSubmitJobs: its pending and running jobs
  Tres max_tres_per_job;                    // MaxTRESPerJob
  Tres max_tres_per_user;                   // MaxTRESPerUser: one user's running jobs together
  std::string description;
  // Where the controller's config file defines it ("file:line"): changed there, not by sacctmgr.
  std::string defined_in;

  bool MayPreempt(std::string_view other) const;
};

// The QOS a request names ("" means the default QOS).
inline std::string_view QosNameOf(const JobRequest& req) {
  return req.qos.empty() ? std::string_view(kDefaultQos) : std::string_view(req.qos);
}

// The QOS called `name` (case-insensitive; "" is "normal"), or null.
const Qos* FindQos(const std::vector<Qos>& all, std::string_view name);

// Slurm's submit refusals, as the status message. A message may start with a line naming
// Slurm's reason code (the commands print it as an error line of its own).
inline constexpr char kQosPolicyViolation[] =
    "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)";

// Whether `count` new jobs of `req` may be submitted to `qos` (null: unknown QOS) when the user
// already has `user_live_jobs` pending or running jobs in it. Refusals: "Invalid qos
// specification"; MaxWall: "QOSMaxWallDurationPerJobLimit\n" + policy text; MaxSubmitJobsPerUser:
// "QOSMaxSubmitJobPerUserLimit\n" + policy text.
Status CheckQosAtSubmit(const Qos* qos, const JobRequest& req, uint32_t user_live_jobs,
                        uint32_t count);

// Whether a time limit exceeds a QOS's MaxWall (an unlimited job exceeds any MaxWall).
bool ExceedsMaxWall(const Qos& qos, int64_t time_limit_s);

}  // namespace shoal
