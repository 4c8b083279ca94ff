// The controller's HTTP front: GET /metrics (Prometheus text format), GET
// /api/v1/prometheus/targets (Prometheus http_sd_configs), the dashboard (DashboardRoutes), and
// every other /api/v1 route through HandleApiRequest; each request is timed into
// shoal_api_request_duration_seconds. It also names the caller once per request (the kernel's
// word on the Unix socket, a verified token on TCP, else anonymous), limits each caller's rate,
// and issues tokens (POST /api/v1/tokens) and join tokens (/api/v1/join-tokens: issue, list,
// revoke).
#pragma once

#include <mutex>
#include <string>

#include "api/server/http_server.h"
#include "controller/authz.h"
#include "controller/controller.h"
#include "controller/dashboard_routes.h"
#include "controller/join_tokens.h"
#include "controller/live_sim_board.h"
#include "controller/rate_limiter.h"

namespace shoal {

class ControllerHttpHandler {
 public:
  explicit ControllerHttpHandler(Controller& controller);

  // The HS256 key that signs and checks tokens; without one, tokens are refused (tests).
  void SetTokenKey(std::string key) { token_key_ = std::move(key); }
  // Issues, lists and revokes join tokens (/api/v1/join-tokens) from `tokens` (outlives the
  // handler), pinned to the cluster CA whose certificate hash (security::CertificateSha256) is
  // `ca_sha256`.
  void SetJoinTokens(JoinTokens* tokens, std::string ca_sha256) {
    join_tokens_ = tokens;
    join_ca_hash_ = std::move(ca_sha256);
  }
  // Who is asking: kUnauthenticated naming what is wrong with a token that was presented.
  Result<Caller> Identify(const HttpRequest& request) const;

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
  HttpResponse IssueToken(const HttpRequest& request, const Caller& caller);
  HttpResponse JoinTokenRoute(const HttpRequest& request, const Caller& caller);
  HttpResponse IssueJoinToken(const HttpRequest& request, const Caller& caller);

  Controller& controller_;
  DashboardRoutes* dashboard_ = nullptr;
  LiveSimBoard live_sim_;
  std::string token_key_;
  JoinTokens* join_tokens_ = nullptr;
  std::string join_ca_hash_;
  RateLimiter limiter_;
  std::mutex mu_;
  std::string self_target_;
};

}  // namespace shoal
