// The live simulation's controls (`shoal sim live`) as the API carries them. The simulation
// reports what it does to the controller every second and takes back the settings wanted;
// the dashboard and `curl` change them through the controller:
//   GET  /api/v1/sim/live            {"settings":{...},"status":{...},"age_s":N} or 404
//   POST /api/v1/sim/live/settings   any of the settings' fields; 400 naming a bad one
//   POST /api/v1/sim/live/status     the simulation's report; answers the settings wanted
#pragma once

#include <string>
#include <string_view>

#include "api/json_model.h"
#include "common/status.h"

namespace shoal {

struct LiveSimSettings {
  double job_rate_per_min = 0;  // 0: the preset's
  std::string preset = "steady";
  double failure_low_pct = 0;   // per node, percent a minute
  double failure_high_pct = 0;
};

// Jobs per minute of a preset, `minute_of_run` into the run: light 0.5, steady 2, stress 50,
// burst 0.5 with a minute of 30 every five. An unknown name is InvalidArgument.
Result<double> PresetJobRate(std::string_view preset, double minute_of_run);

Json LiveSimSettingsToJson(const LiveSimSettings& s);
// `current` with the fields `j` holds laid over it, checked: job_rate_per_min 0 or 0.1 to 50,
// a known preset, failure_pct_per_min [low, high] within 0 to 100. Unknown fields and wrong
// types are InvalidArgument naming them.
Result<LiveSimSettings> LiveSimSettingsFromJson(const Json& j, const LiveSimSettings& current);

}  // namespace shoal
