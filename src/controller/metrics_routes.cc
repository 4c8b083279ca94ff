#include "controller/metrics_routes.h"

#include <chrono>

#include "common/strings.h"
#include "controller/api_routes.h"

namespace shoal {
namespace {

HttpResponse JsonError(int code, const Status& s) { return {code, ErrorToJson(s).dump()}; }

// The first path segments under /api/v1 that name a route; anything else is "other".
const char* const kApiRoots[] = {"health",   "jobs",       "nodes",      "partitions",
                                 "config",   "priority",   "accounting", "prometheus",
                                 "events",   "stats",      "sim"};

}  // namespace

void ControllerHttpHandler::SetSelfTarget(std::string target) {
  std::lock_guard<std::mutex> lock(mu_);
  self_target_ = std::move(target);
}

std::string ControllerHttpHandler::RouteClass(const std::string& path) {
  if (path == "/metrics" || path == "/metrics/") return "/metrics";
  if (path == "/" || path == "/index.html" || path.rfind("/dashboard", 0) == 0) return "/dashboard";
  const std::string prefix = "/api/v1/";
  if (path.rfind(prefix, 0) != 0) return "other";
  std::vector<std::string> parts = Split(path.substr(prefix.size()), '/');
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  if (parts.empty()) return "other";
  bool known = false;
  for (const char* root : kApiRoots) known = known || parts[0] == root;
  if (!known) return "other";
  std::string out = prefix + parts[0];
  // Fixed second segments stay as they are; the rest are ids.
  if (parts.size() >= 2) {
    const std::string& p1 = parts[1];
    out +=
        (p1 == "cancel" || p1 == "jobs" || p1 == "targets" || p1 == "timeline" || p1 == "history" ||
         p1 == "live")
            ? "/" + p1
            : std::string("/:id");
  }
  if (parts.size() >= 3) out += "/:action";
  return out;
}

HttpResponse ControllerHttpHandler::Handle(const HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  HttpResponse response = Route(request);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string method =
      request.method == "GET" || request.method == "POST" ? request.method : "other";
  controller_.metrics().ApiRequest(RouteClass(request.path), method, response.status, seconds);
  return response;
}

HttpResponse ControllerHttpHandler::Route(const HttpRequest& r) {
  // A web page elsewhere must not drive this API through the user's browser: browsers name the
  // page's origin on every cross-site POST, and only our own page may change anything.
  if (r.method != "GET" && r.method != "HEAD") {
    auto origin = r.headers.find("Origin");
    auto host = r.headers.find("Host");
    if (origin != r.headers.end() &&
        (host == r.headers.end() || (origin->second != "http://" + host->second &&
                                     origin->second != "https://" + host->second))) {
      return JsonError(403, Status(StatusCode::kPermissionDenied,
                                   "cross-origin request refused (Origin " + origin->second + ")"));
    }
  }
  if (dashboard_ != nullptr) {
    if (auto resp = dashboard_->Handle(r)) return std::move(*resp);
  }
  if (auto resp = live_sim_.Handle(r)) return std::move(*resp);
  if (r.path == "/metrics" || r.path == "/metrics/") {
    if (r.method != "GET" && r.method != "HEAD") {
      return JsonError(405, InvalidArgument("only GET is allowed on /metrics"));
    }
    return {200, controller_.metrics().Render(), metrics::kContentType};
  }
  if (r.path == "/api/v1/prometheus/targets" || r.path == "/api/v1/prometheus/targets/") {
    if (r.method != "GET") {
      return JsonError(405, InvalidArgument("only GET is allowed on " + r.path));
    }
    return Targets(r);
  }
  return HandleApiRequest(controller_, r);
}

// Prometheus http_sd_configs: a JSON list of target groups. One group per target, so that each
// agent carries its node's name as a label.
HttpResponse ControllerHttpHandler::Targets(const HttpRequest& r) {
  bool want_controller = true, want_agents = true;
  for (const auto& [key, value] : r.query) {
    if (key != "role") {
      return JsonError(
          400, InvalidArgument("unknown query parameter '" + key + "' (only 'role' is accepted)"));
    }
    if (value == "controller") {
      want_agents = false;
    } else if (value == "agent") {
      want_controller = false;
    } else {
      return JsonError(
          400, InvalidArgument("role must be 'controller' or 'agent', not '" + value + "'"));
    }
  }
  const std::string cluster = controller_.config().cluster_name;
  Json groups = Json::array();
  std::string self;
  {
    std::lock_guard<std::mutex> lock(mu_);
    self = self_target_;
  }
  if (want_controller && !self.empty()) {
    groups.push_back({{"targets", {self}},
                      {"labels", {{"shoal_role", "controller"}, {"shoal_cluster", cluster}}}});
  }
  if (want_agents) {
    for (const Controller::MetricsTarget& t : controller_.AgentMetricsTargets()) {
      groups.push_back(
          {{"targets", {t.address}},
           {"labels",
            {{"shoal_role", "agent"}, {"shoal_cluster", cluster}, {"shoal_node", t.node}}}});
    }
  }
  return {200, groups.dump()};
}

}  // namespace shoal
