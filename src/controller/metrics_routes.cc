#include "controller/metrics_routes.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "common/strings.h"
#include "controller/api_routes.h"
#include "security/jwt.h"

namespace shoal {
namespace {

HttpResponse JsonError(int code, const Status& s) { return {code, ErrorToJson(s).dump()}; }

// The first path segments under /api/v1 that name a route; anything else is "other".
const char* const kApiRoots[] = {"health", "jobs",     "nodes",      "partitions",
                                 "config", "priority", "accounting", "prometheus",
                                 "events", "stats",    "sim",        "tokens", "join-tokens"};

// scontrol token: Slurm's default lifespan, and the longest shoal issues.
constexpr int64_t kDefaultTokenLifespan = 1800;
constexpr int64_t kMaxTokenLifespan = 365 * 86400;

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

std::optional<PasswdEntry> LookupPasswd(const std::string* name, uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = name != nullptr ? getpwnam_r(name->c_str(), &pw, buf.data(), buf.size(), &found)
                           : getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return PasswdEntry{pw.pw_name, static_cast<uint32_t>(pw.pw_uid),
                     static_cast<uint32_t>(pw.pw_gid)};
}

}  // namespace

ControllerHttpHandler::ControllerHttpHandler(Controller& controller)
    : controller_(controller),
      limiter_(controller.config().api_rate_limit, controller.config().api_rate_burst) {}

Result<Caller> ControllerHttpHandler::Identify(const HttpRequest& r) const {
  Caller c;
  c.remote_address = r.remote_address;
  if (r.peer) {
    // The kernel's word: a token sent over the Unix socket changes nothing.
    c.how = Caller::How::kUnix;
    c.uid = r.peer->uid;
    c.gid = r.peer->gid;
    c.user = c.uid == 0 ? "root" : Controller::UserName(c.uid);
  } else if (auto auth = r.headers.find("Authorization"); auth != r.headers.end()) {
    const std::string& value = auth->second;
    if (value.size() < 7 || !EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
      return Unauthenticated("unsupported Authorization scheme (send 'Bearer TOKEN')");
    }
    if (token_key_.empty()) return Unauthenticated("this controller does not accept tokens");
    auto claims = security::VerifyJwt(Trim(value.substr(7)), token_key_, NowSeconds());
    if (!claims.ok()) return claims.status();
    c.how = Caller::How::kToken;
    c.uid = claims->uid;
    c.user = claims->user;
    c.gid = c.uid;
    if (auto pw = LookupPasswd(nullptr, c.uid)) c.gid = pw->gid;
  } else {
    return c;  // anonymous
  }
  c.level = controller_.EffectiveAdminLevel(c.uid, c.user);
  return c;
}

// POST /api/v1/tokens {"lifespan": SECONDS, "username": NAME}: scontrol token.
HttpResponse ControllerHttpHandler::IssueToken(const HttpRequest& r, const Caller& caller) {
  if (r.method != "POST")
    return JsonError(405, InvalidArgument("only POST is allowed on " + r.path));
  if (token_key_.empty())
    return JsonError(503, Unavailable("this controller does not issue tokens"));
  Json body = r.body.empty() ? Json::object() : Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return JsonError(400, InvalidArgument("request body is not a JSON object"));
  }
  int64_t lifespan = kDefaultTokenLifespan;
  std::string username;
  for (const auto& [key, value] : body.items()) {
    if (key == "lifespan") {
      if (!value.is_number_integer()) {
        return JsonError(400, InvalidArgument("lifespan must be a whole number of seconds"));
      }
      lifespan = value.get<int64_t>();
    } else if (key == "username") {
      if (!value.is_string()) return JsonError(400, InvalidArgument("username must be a string"));
      username = value.get<std::string>();
    } else {
      return JsonError(400, InvalidArgument("unknown field '" + key + "' (lifespan, username)"));
    }
  }
  if (lifespan < 1 || lifespan > kMaxTokenLifespan) {
    return JsonError(400,
                     InvalidArgument("Invalid lifespan: " + std::to_string(lifespan) + " (1 to " +
                                     std::to_string(kMaxTokenLifespan) + " seconds)"));
  }
  PasswdEntry target{caller.user, caller.uid, caller.gid};
  if (!username.empty()) {
    auto pw = LookupPasswd(&username, 0);
    if (!pw) return JsonError(404, NotFound("Invalid user: " + username));
    target = *pw;
  } else if (target.name.empty()) {
    return JsonError(400, InvalidArgument("uid " + std::to_string(caller.uid) +
                                          " has no user name: name one with username="));
  }
  if (!MayIssueTokenFor(caller, target.uid)) {
    return JsonError(403, PermissionDenied("Access/permission denied: only an administrator "
                                           "may issue a token for another user"));
  }
  const int64_t now = NowSeconds();
  security::JwtClaims claims{target.name, target.uid, now, now + lifespan};
  return {200, Json{{"token", security::SignJwt(claims, token_key_)},
                    {"user", target.name},
                    {"uid", target.uid},
                    {"expires_at", claims.expires_at}}
                   .dump()};
}

// /api/v1/join-tokens: POST issues one (shoal token --join), GET lists them (--list) and
// DELETE /api/v1/join-tokens/{id} revokes one (--revoke). Administrators only, as whoever holds
// a token may add a node to the cluster.
HttpResponse ControllerHttpHandler::JoinTokenRoute(const HttpRequest& r, const Caller& caller) {
  const std::string prefix = "/api/v1/join-tokens";
  std::string id = r.path.substr(prefix.size());
  if (!id.empty() && id.front() == '/') id.erase(0, 1);
  if (!id.empty() && id.back() == '/') id.pop_back();
  if (id.empty() ? r.method != "POST" && r.method != "GET" : r.method != "DELETE") {
    return JsonError(
        405, InvalidArgument("only " + std::string(id.empty() ? "GET and POST are" : "DELETE is") +
                             " allowed on " + r.path));
  }
  if (join_tokens_ == nullptr || join_ca_hash_.empty()) {
    return JsonError(503, Unavailable("this controller does not issue join tokens"));
  }
  if (caller.level < AdminLevel::kAdministrator) {
    return JsonError(403, PermissionDenied("Access/permission denied: only an administrator "
                                           "(root, the controller's user, AdminLevel="
                                           "Administrator) may issue, list or revoke join "
                                           "tokens"));
  }
  if (r.method == "POST") return IssueJoinToken(r, caller);
  if (r.method == "DELETE") {
    Status s = join_tokens_->Revoke(id, caller.user, NowSeconds());
    if (s.ok()) return {200, "{}"};
    int code = 500;
    if (s.code() == StatusCode::kInvalidArgument) code = 400;
    if (s.code() == StatusCode::kNotFound) code = 404;
    if (s.code() == StatusCode::kFailedPrecondition) code = 409;
    return JsonError(code, s);
  }
  Result<std::vector<JoinTokenInfo>> list = join_tokens_->List();
  if (!list.ok()) return JsonError(500, list.status());
  const int64_t now = NowSeconds();
  Json out = Json::array();
  for (const JoinTokenInfo& t : *list) {
    const char* state = t.revoked_at != 0     ? "revoked"
                        : t.used_at != 0      ? "used"
                        : now >= t.expires_at ? "expired"
                                              : "unused";
    out.push_back({{"id", t.id},
                   {"issued_by", t.issued_by},
                   {"created_at", t.created_at},
                   {"expires_at", t.expires_at},
                   {"state", state},
                   {"used_at", t.used_at},
                   {"used_by", t.used_by},
                   {"revoked_at", t.revoked_at},
                   {"revoked_by", t.revoked_by}});
  }
  return {200, Json{{"join_tokens", out}}.dump()};
}

// POST /api/v1/join-tokens {"lifespan": SECONDS}: shoal token --join (JoinTokenRoute checked
// the caller).
HttpResponse ControllerHttpHandler::IssueJoinToken(const HttpRequest& r, const Caller& caller) {
  Json body = r.body.empty() ? Json::object() : Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return JsonError(400, InvalidArgument("request body is not a JSON object"));
  }
  int64_t lifespan = kDefaultJoinTokenLifespan;
  for (const auto& [key, value] : body.items()) {
    if (key != "lifespan") {
      return JsonError(400, InvalidArgument("unknown field '" + key + "' (lifespan)"));
    }
    if (!value.is_number_integer()) {
      return JsonError(400, InvalidArgument("lifespan must be a whole number of seconds"));
    }
    lifespan = value.get<int64_t>();
  }
  Result<IssuedJoinToken> issued = join_tokens_->Issue(lifespan, caller.user, NowSeconds());
  if (!issued.ok()) {
    return JsonError(issued.status().code() == StatusCode::kInvalidArgument ? 400 : 500,
                     issued.status());
  }
  return {200, Json{{"token", issued->id + "." + issued->secret + "." + join_ca_hash_},
                    {"id", issued->id},
                    {"ca_sha256", join_ca_hash_},
                    {"expires_at", issued->expires_at}}
                   .dump()};
}

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
  auto caller = Identify(r);
  if (!caller.ok()) {
    // A client sending bad tokens is limited by its address like an anonymous one.
    if (limiter_.Take("addr:" + r.remote_address) > 0) {
      return JsonError(
          429, ResourceExhausted("too many requests from " + r.remote_address + " (ApiRateLimit)"));
    }
    HttpResponse resp = JsonError(401, caller.status());
    resp.headers.push_back({"WWW-Authenticate", "Bearer"});
    return resp;
  }
  // Per caller: a user by uid, an anonymous client by address. root and the controller's own
  // user are not limited: the cluster's own tools run as them, and they could stop it anyway.
  const bool unlimited = !caller->anonymous() && (caller->uid == 0 || caller->uid == getuid());
  const std::string key =
      caller->anonymous() ? "addr:" + caller->remote_address : "uid:" + std::to_string(caller->uid);
  if (double wait = unlimited ? 0 : limiter_.Take(key); wait > 0) {
    HttpResponse resp = JsonError(
        429,
        ResourceExhausted("too many requests from " +
                          (caller->anonymous() ? caller->remote_address : "user " + caller->user) +
                          ": limit " + std::to_string(controller_.config().api_rate_limit) +
                          "/s (ApiRateLimit)"));
    resp.headers.push_back({"Retry-After", std::to_string(std::max<int64_t>(
                                               1, static_cast<int64_t>(std::ceil(wait))))});
    return resp;
  }
  // Anonymous callers read what the policy lets them, and change nothing.
  if (caller->anonymous() && r.method != "GET" && r.method != "HEAD" &&
      r.path.rfind("/api/", 0) == 0) {
    HttpResponse resp = JsonError(401, AuthenticationRequired());
    resp.headers.push_back({"WWW-Authenticate", "Bearer"});
    return resp;
  }
  if (r.path == "/api/v1/tokens" || r.path == "/api/v1/tokens/") return IssueToken(r, *caller);
  if (r.path == "/api/v1/join-tokens" || r.path.rfind("/api/v1/join-tokens/", 0) == 0) {
    return JoinTokenRoute(r, *caller);
  }
  if (dashboard_ != nullptr) {
    if (auto resp = dashboard_->Handle(r, *caller)) return std::move(*resp);
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
  return HandleApiRequest(controller_, r, *caller);
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
