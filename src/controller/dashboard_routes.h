// The dashboard's HTTP side: the page and its files ("/", "/dashboard/..."), the live event
// stream (GET /api/v1/events), the timeline and history for its charts, and the tail of a job's
// output file. Everything else the page shows comes from the ordinary /api/v1 routes.
#pragma once

#include <optional>

#include "api/server/http_server.h"
#include "controller/authz.h"
#include "controller/cluster_events.h"
#include "controller/controller.h"

namespace shoal {

class DashboardRoutes {
 public:
  DashboardRoutes(Controller& controller, ClusterEvents& events)
      : controller_(controller), events_(events) {}

  // The answer when the path is one of the dashboard's; nullopt otherwise.
  std::optional<HttpResponse> Handle(const HttpRequest& request, const Caller& caller);

  // GET /api/v1/jobs/{id}/output: the last `tail` lines of the job's own stdout (or stderr)
  // file, when the controller can read it.
  HttpResponse JobOutput(const std::string& id, const HttpRequest& request, const Caller& caller);

 private:
  HttpResponse Asset(const std::string& name, const HttpRequest& request);

  Controller& controller_;
  ClusterEvents& events_;
};

// Where a job's stdout (`stderr` false) or stderr goes, as the controller tells the agent at
// launch. Stderr without its own pattern goes with stdout.
std::string JobOutputPath(const Job& job, bool stderr);

}  // namespace shoal
