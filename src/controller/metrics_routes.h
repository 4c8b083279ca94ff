// The controller's HTTP front: GET /metrics (Prometheus text format), GET
// /api/v1/prometheus/targets (Prometheus http_sd_configs), the dashboard (DashboardRoutes), and
// every other /api/v1 route through HandleApiRequest; each request is timed into
// shoal_api_request_duration_seconds.
#pragma once

#include <mutex>
#include <string>

#include "api/server/http_server.h"
#include "controller/controller.h"
#include "controller/dashboard_routes.h"
#include "controller/live_sim_board.h"

namespace shoal {

class ControllerHttpHandler {
 public:
  explicit ControllerHttpHandler(Controller& controller) : controller_(controller) {}

  // HOST:PORT at which Prometheus scrapes the controller itself (its TCP listener).
  void SetSelfTarget(std::string target);
  // Serves the dashboard's routes too (set before serving; outlives the handler).
  void SetDashboard(DashboardRoutes* dashboard) { dashboard_ = dashboard; }
  HttpResponse Handle(const HttpRequest& request);

  // The route class a path is counted under: "/metrics", "/api/v1/jobs", "/api/v1/jobs/:id",
  // "/api/v1/jobs/:id/:action", ...; "other" for paths outside the API, so that random URLs
  // cannot grow the number of series.
  static std::string RouteClass(const std::string& path);

 private:
  HttpResponse Route(const HttpRequest& request);
  HttpResponse Targets(const HttpRequest& request);

  Controller& controller_;
  DashboardRoutes* dashboard_ = nullptr;
  LiveSimBoard live_sim_;
  std::mutex mu_;
  std::string self_target_;
};

}  // namespace shoal
