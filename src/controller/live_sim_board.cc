#include "controller/live_sim_board.h"

namespace shoal {
namespace {

HttpResponse Error(int code, const std::string& message) {
  return {code, ErrorToJson(Status(code == 404   ? StatusCode::kNotFound
                                   : code == 405 ? StatusCode::kFailedPrecondition
                                                 : StatusCode::kInvalidArgument,
                                   message))
                    .dump()};
}

}  // namespace

bool LiveSimBoard::Live() const {
  return last_report_ && std::chrono::steady_clock::now() - *last_report_ < kGone;
}

std::optional<HttpResponse> LiveSimBoard::Handle(const HttpRequest& r) {
  const std::string root = "/api/v1/sim/live";
  if (r.path != root && r.path.rfind(root + "/", 0) != 0) return std::nullopt;
  const std::string sub = r.path.size() > root.size() ? r.path.substr(root.size() + 1) : "";
  std::lock_guard<std::mutex> lock(mu_);
  if (sub.empty()) {
    if (r.method != "GET") return Error(405, "only GET is allowed on " + root);
    if (!Live()) return Error(404, "no live simulation is running (start one with shoal sim live)");
    const double age = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                     *last_report_)
                           .count();
    return HttpResponse{
        200, Json{{"settings", LiveSimSettingsToJson(wanted_)}, {"status", status_}, {"age_s", age}}
                 .dump()};
  }
  if (sub != "settings" && sub != "status") return Error(404, "no route " + r.path);
  if (r.method != "POST") return Error(405, "only POST is allowed on " + r.path);
  Json body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Error(400, "the body must be a JSON object");
  if (sub == "settings") {
    if (!Live()) return Error(404, "no live simulation is running (start one with shoal sim live)");
    Result<LiveSimSettings> s = LiveSimSettingsFromJson(body, wanted_);
    if (!s.ok()) return Error(400, s.status().message());
    wanted_ = *s;
    return HttpResponse{200, Json{{"settings", LiveSimSettingsToJson(wanted_)}}.dump()};
  }
  // A report. A simulation that (re)appears brings its own settings; later ones only report.
  if (!body.contains("settings") || !body.contains("status") || !body["status"].is_object()) {
    return Error(400, "a report needs \"settings\" and a \"status\" object");
  }
  if (!Live()) {
    Result<LiveSimSettings> s = LiveSimSettingsFromJson(body["settings"], LiveSimSettings{});
    if (!s.ok()) return Error(400, s.status().message());
    wanted_ = *s;
  }
  status_ = body["status"];
  last_report_ = std::chrono::steady_clock::now();
  return HttpResponse{200, Json{{"settings", LiveSimSettingsToJson(wanted_)}}.dump()};
}

}  // namespace shoal
