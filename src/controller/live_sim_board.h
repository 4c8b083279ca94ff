// The controller's side of the live simulation's controls (api/live_sim.h): the latest report
// of a running `shoal sim live` and the settings wanted for it, changed through the API (the
// dashboard's controls). With no simulation reporting, its routes answer 404.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "api/live_sim.h"
#include "api/server/http_server.h"

namespace shoal {

class LiveSimBoard {
 public:
  // Answers /api/v1/sim/live and below; nullopt for any other path.
  std::optional<HttpResponse> Handle(const HttpRequest& r);

 private:
  bool Live() const;  // under mu_: a report came in the last kGone

  static constexpr std::chrono::seconds kGone{10};
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> last_report_;
  LiveSimSettings wanted_;
  Json status_ = Json::object();
};

}  // namespace shoal
