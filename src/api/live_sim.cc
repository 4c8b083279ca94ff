#include "api/live_sim.h"

#include <cmath>

namespace shoal {

Result<double> PresetJobRate(std::string_view preset, double minute_of_run) {
  if (preset == "light") return 0.5;
  if (preset == "steady") return 2.0;
  if (preset == "stress") return 50.0;
  if (preset == "burst") return std::fmod(minute_of_run, 5.0) >= 4.0 ? 30.0 : 0.5;
  return InvalidArgument("unknown preset '" + std::string(preset) +
                         "' (light, steady, burst or stress)");
}

Json LiveSimSettingsToJson(const LiveSimSettings& s) {
  return {{"job_rate_per_min", s.job_rate_per_min},
          {"preset", s.preset},
          {"failure_pct_per_min", Json::array({s.failure_low_pct, s.failure_high_pct})}};
}

Result<LiveSimSettings> LiveSimSettingsFromJson(const Json& j, const LiveSimSettings& current) {
  if (!j.is_object()) return InvalidArgument("settings must be a JSON object");
  LiveSimSettings s = current;
  for (const auto& [key, value] : j.items()) {
    if (key == "job_rate_per_min") {
      if (!value.is_number()) return InvalidArgument("job_rate_per_min must be a number");
      const double rate = value.get<double>();
      if (rate != 0 && !(rate >= 0.1 && rate <= 50)) {
        return InvalidArgument("job_rate_per_min must be 0 (the preset's) or 0.1 to 50");
      }
      s.job_rate_per_min = rate;
    } else if (key == "preset") {
      if (!value.is_string()) return InvalidArgument("preset must be a string");
      if (Result<double> r = PresetJobRate(value.get<std::string>(), 0); !r.ok()) return r.status();
      s.preset = value.get<std::string>();
    } else if (key == "failure_pct_per_min") {
      if (!value.is_array() || value.size() != 2 || !value[0].is_number() ||
          !value[1].is_number()) {
        return InvalidArgument("failure_pct_per_min must be [low, high]");
      }
      const double low = value[0].get<double>(), high = value[1].get<double>();
      if (!(low >= 0 && high <= 100 && low <= high)) {
        return InvalidArgument("failure_pct_per_min must lie within 0 to 100, low <= high");
      }
      s.failure_low_pct = low;
      s.failure_high_pct = high;
    } else {
      return InvalidArgument("unknown setting '" + key + "'");
    }
  }
  return s;
}

}  // namespace shoal
