#include "security/jwt.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "security/crypto.h"

namespace shoal::security {
namespace {

using Json = nlohmann::json;

Status Malformed(const std::string& why) { return Unauthenticated("malformed token: " + why); }

// A claim that must be a whole number (JSON numbers may be written as 1.7e9 by some issuers).
bool ReadInt(const Json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return false;
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return true;
  }
  double d = it->get<double>();
  if (d != static_cast<double>(static_cast<int64_t>(d))) return false;
  out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

std::string SignJwt(const JwtClaims& claims, std::string_view key) {
  const std::string header = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  Json payload = {{"sun", claims.user},
                  {"uid", claims.uid},
                  {"iat", claims.issued_at},
                  {"exp", claims.expires_at}};
  std::string signing_input = header + "." + Base64UrlEncode(payload.dump());
  return signing_input + "." + Base64UrlEncode(HmacSha256(key, signing_input));
}

Result<JwtClaims> VerifyJwt(std::string_view token, std::string_view key, int64_t now) {
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Malformed("a token has three dot-separated parts");
  }
  auto header_raw = Base64UrlDecode(token.substr(0, dot1));
  if (!header_raw.ok()) return Malformed("bad base64url in the header");
  Json header = Json::parse(*header_raw, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return Malformed("the header is not JSON");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return Malformed("the header names no alg");
  // Only HS256: "none" or another algorithm must never be accepted on the token's own word.
  if (alg->get<std::string>() != "HS256") {
    return Unauthenticated("unsupported token algorithm '" + alg->get<std::string>() +
                           "' (only HS256)");
  }
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature.ok()) return Malformed("bad base64url in the signature");
  // The signature is checked before the payload is even parsed.
  const std::string expected = HmacSha256(key, token.substr(0, dot2));
  if (!ConstantTimeEqual(*signature, expected)) return Unauthenticated("bad token signature");
  auto payload_raw = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_raw.ok()) return Malformed("bad base64url in the payload");
  Json payload = Json::parse(*payload_raw, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return Malformed("the payload is not JSON");
  JwtClaims claims;
  auto sun = payload.find("sun");
  if (sun == payload.end() || !sun->is_string() || sun->get<std::string>().empty()) {
    return Malformed("missing claim 'sun'");
  }
  claims.user = sun->get<std::string>();
  int64_t uid = 0;
  if (!ReadInt(payload, "uid", uid) || uid < 0 || uid > std::numeric_limits<uint32_t>::max()) {
    return Malformed("missing or bad claim 'uid'");
  }
  claims.uid = static_cast<uint32_t>(uid);
  if (!ReadInt(payload, "exp", claims.expires_at)) return Malformed("missing or bad claim 'exp'");
  if (payload.contains("iat") && !ReadInt(payload, "iat", claims.issued_at)) {
    return Malformed("bad claim 'iat'");
  }
  if (now >= claims.expires_at) return Unauthenticated("token expired");
  return claims;
}

Result<std::string> LoadOrCreateJwtKey(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return Internal("cannot create the token key " + path + ": " + std::strerror(errno));
    }
    const std::string key = RandomBytes(kMinJwtKeyBytes);
    const bool written =
        write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(fd) == 0;
    close(fd);
    if (!written) {
      unlink(path.c_str());
      return Internal("cannot write the token key " + path + ": " + std::strerror(errno));
    }
    return key;
  }
  if (fd < 0) return Internal("cannot open the token key " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return InvalidArgument("the token key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied("the token key " + path + " has mode " + mode +
                            ": group and others must have no access (chmod 600 " + path + ")");
  }
  std::string key;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && key.size() < (1 << 20)) key.append(buf, n);
  close(fd);
  if (n < 0) return Internal("cannot read the token key " + path + ": " + std::strerror(errno));
  if (key.size() < kMinJwtKeyBytes) {
    return InvalidArgument("the token key " + path + " is shorter than " +
                           std::to_string(kMinJwtKeyBytes) + " bytes");
  }
  return key;
}

}  // namespace shoal::security
