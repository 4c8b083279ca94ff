#include "controller/join_tokens.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/slurm_time.h"
#include "security/crypto.h"

namespace shoal {
namespace {

constexpr char kDocument[] = "join_tokens";
constexpr int64_t kKeepExpiredS = 86400;

// `n` characters of [a-z0-9], uniformly (bytes past the last multiple of 36 are drawn again).
std::string RandomToken(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < n) {
    for (unsigned char b : security::RandomBytes(n)) {
      if (b < 252 && out.size() < n) out += kAlphabet[b % 36];
    }
  }
  return out;
}

std::string SecretHash(const std::string& secret) {
  return security::HexEncode(security::Sha256("shoal-join-token-v1\n" + secret));
}

}  // namespace

Status JoinTokens::LoadLocked() {
  if (loaded_) return Status::Ok();
  Result<std::optional<std::string>> doc = store_.LoadDocument(kDocument);
  if (!doc.ok()) return doc.status();
  tokens_.clear();
  if (doc->has_value()) {
    nlohmann::json j = nlohmann::json::parse(**doc, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("tokens") || !j["tokens"].is_array()) {
      return Internal("the stored join tokens are unreadable");
    }
    for (const auto& t : j["tokens"]) {
      Entry e;
      e.id = t.value("id", "");
      e.secret_sha256 = t.value("secret_sha256", "");
      e.issued_by = t.value("issued_by", "");
      e.created_at = t.value("created_at", int64_t{0});
      e.expires_at = t.value("expires_at", int64_t{0});
      e.used_at = t.value("used_at", int64_t{0});
      e.used_by = t.value("used_by", "");
      e.revoked_at = t.value("revoked_at", int64_t{0});
      e.revoked_by = t.value("revoked_by", "");
      tokens_.push_back(std::move(e));
    }
  }
  loaded_ = true;
  return Status::Ok();
}

Status JoinTokens::CommitLocked(std::vector<Entry> next, int64_t now) {
  std::erase_if(next, [now](const Entry& e) { return e.expires_at + kKeepExpiredS < now; });
  nlohmann::json list = nlohmann::json::array();
  for (const Entry& e : next) {
    list.push_back({{"id", e.id},
                    {"secret_sha256", e.secret_sha256},
                    {"issued_by", e.issued_by},
                    {"created_at", e.created_at},
                    {"expires_at", e.expires_at},
                    {"used_at", e.used_at},
                    {"used_by", e.used_by},
                    {"revoked_at", e.revoked_at},
                    {"revoked_by", e.revoked_by}});
  }
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveDocument;
  op.doc_name = kDocument;
  op.doc_body = nlohmann::json{{"tokens", list}}.dump();
  if (Status s = store_.Write({std::move(op)}); !s.ok()) return s;
  tokens_ = std::move(next);
  return Status::Ok();
}

Result<IssuedJoinToken> JoinTokens::Issue(int64_t lifespan_s, const std::string& issued_by,
                                          int64_t now) {
  if (lifespan_s < 1 || lifespan_s > kMaxJoinTokenLifespan) {
    return InvalidArgument("Invalid lifespan: " + std::to_string(lifespan_s) + " (1 to " +
                           std::to_string(kMaxJoinTokenLifespan) + " seconds)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = LoadLocked(); !s.ok()) return s;
  IssuedJoinToken issued{RandomToken(6), RandomToken(16), now + lifespan_s};
  std::vector<Entry> next = tokens_;
  next.push_back(
      {issued.id, SecretHash(issued.secret), issued_by, now, issued.expires_at, 0, "", 0, ""});
  if (Status s = CommitLocked(std::move(next), now); !s.ok()) return s;
  spdlog::info("join token {} issued by {}, valid until {}", issued.id, issued_by,
               FormatTimestamp(issued.expires_at));
  return issued;
}

Status JoinTokens::Redeem(const std::string& id, const std::string& secret, const std::string& node,
                          int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = LoadLocked(); !s.ok()) return s;
  auto it =
      std::find_if(tokens_.begin(), tokens_.end(), [&](const Entry& e) { return e.id == id; });
  // Unknown and wrong-secret read alike, so that trying reveals nothing about which ids exist.
  if (it == tokens_.end() || !security::ConstantTimeEqual(it->secret_sha256, SecretHash(secret))) {
    spdlog::warn("join refused for node {}: unknown join token or wrong secret", node);
    return PermissionDenied(
        "join token refused: the controller knows no such token (ask for a "
        "new one: shoal token --join)");
  }
  if (it->revoked_at != 0) {
    spdlog::warn("join refused for node {}: join token {} was revoked", node, id);
    return PermissionDenied("join token " + id + " was revoked (at " +
                            FormatTimestamp(it->revoked_at) + " by " + it->revoked_by +
                            "): ask for a new one (shoal token --join)");
  }
  if (it->used_at != 0) {
    spdlog::warn("join refused for node {}: join token {} was used by {}", node, id, it->used_by);
    return PermissionDenied("join token " + id + " was already used (at " +
                            FormatTimestamp(it->used_at) +
                            "): join tokens are one-time, ask for a new one (shoal token --join)");
  }
  if (now >= it->expires_at) {
    spdlog::warn("join refused for node {}: join token {} expired", node, id);
    return PermissionDenied("join token " + id + " expired at " + FormatTimestamp(it->expires_at) +
                            ": ask for a new one (shoal token --join)");
  }
  std::vector<Entry> next = tokens_;
  Entry& used = next[static_cast<size_t>(it - tokens_.begin())];
  used.used_at = now;
  used.used_by = node;
  if (Status s = CommitLocked(std::move(next), now); !s.ok()) return s;
  spdlog::info("join token {} used by node {}", id, node);
  return Status::Ok();
}

Result<std::vector<JoinTokenInfo>> JoinTokens::List() {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = LoadLocked(); !s.ok()) return s;
  std::vector<JoinTokenInfo> out;
  for (const Entry& e : tokens_) {
    out.push_back({e.id, e.issued_by, e.created_at, e.expires_at, e.used_at, e.used_by,
                   e.revoked_at, e.revoked_by});
  }
  std::stable_sort(out.begin(), out.end(), [](const JoinTokenInfo& a, const JoinTokenInfo& b) {
    return a.created_at < b.created_at;
  });
  return out;
}

Status JoinTokens::Revoke(const std::string& id, const std::string& revoked_by, int64_t now) {
  bool well_formed = id.size() == 6;
  for (char c : id) well_formed = well_formed && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!well_formed) {
    return InvalidArgument("invalid join token id '" + id +
                           "': expected the token's first 6 characters (a-z0-9)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = LoadLocked(); !s.ok()) return s;
  auto it =
      std::find_if(tokens_.begin(), tokens_.end(), [&](const Entry& e) { return e.id == id; });
  if (it == tokens_.end()) return NotFound("no join token " + id + " (shoal token --list)");
  if (it->revoked_at != 0) {
    return FailedPrecondition("join token " + id + " was already revoked (at " +
                              FormatTimestamp(it->revoked_at) + ")");
  }
  if (it->used_at != 0) {
    return FailedPrecondition("join token " + id + " was already used by node " + it->used_by +
                              " (at " + FormatTimestamp(it->used_at) +
                              "): revoking it changes nothing; remove the node instead");
  }
  std::vector<Entry> next = tokens_;
  Entry& revoked = next[static_cast<size_t>(it - tokens_.begin())];
  revoked.revoked_at = now;
  revoked.revoked_by = revoked_by;
  if (Status s = CommitLocked(std::move(next), now); !s.ok()) return s;
  spdlog::info("join token {} revoked by {}", id, revoked_by);
  return Status::Ok();
}

}  // namespace shoal
