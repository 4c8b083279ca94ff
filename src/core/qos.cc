#include "core/qos.h"

#include <algorithm>
#include <cctype>

namespace shoal {
namespace {

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const char* PreemptModeName(PreemptMode m) {
  switch (m) {
    case PreemptMode::kOff:
      return "OFF";
    case PreemptMode::kCancel:
      return "CANCEL";
    case PreemptMode::kRequeue:
      return "REQUEUE";
  }
  return "OFF";
}

std::optional<PreemptMode> ParsePreemptMode(std::string_view text) {
  for (PreemptMode m : {PreemptMode::kOff, PreemptMode::kCancel, PreemptMode::kRequeue}) {
    if (SameIgnoringCase(text, PreemptModeName(m))) return m;
  }
  return std::nullopt;
}

bool Qos::MayPreempt(std::string_view other) const {
  return std::any_of(preempt.begin(), preempt.end(),
                     [&](const std::string& p) { return SameIgnoringCase(p, other); });
}

const Qos* FindQos(const std::vector<Qos>& all, std::string_view name) {
  if (name.empty()) name = kDefaultQos;
  for (const Qos& q : all) {
    if (SameIgnoringCase(q.name, name)) return &q;
  }
  return nullptr;
}

bool ExceedsMaxWall(const Qos& qos, int64_t time_limit_s) {
  if (qos.max_wall_s < 0) return false;
  return time_limit_s < 0 || time_limit_s > qos.max_wall_s;
}

Status CheckQosAtSubmit(const Qos* qos, const JobRequest& req, uint32_t user_live_jobs,
                        uint32_t count) {
  if (qos == nullptr) return InvalidArgument("Invalid qos specification");
  if (ExceedsMaxWall(*qos, req.time_limit_s)) {
    return InvalidArgument(std::string("QOSMaxWallDurationPerJobLimit\n") + kQosPolicyViolation);
  }
  if (qos->max_submit_jobs_per_user > 0 &&
      static_cast<uint64_t>(user_live_jobs) + count > qos->max_submit_jobs_per_user) {
    return InvalidArgument(std::string("QOSMaxSubmitJobPerUserLimit\n") + kQosPolicyViolation);
  }
  return Status::Ok();
}

}  // namespace shoal
