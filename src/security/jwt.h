// JSON Web Tokens (RFC 7519) signed with HS256, as Slurm's auth/jwt issues them: the claims
// `sun` (user name), `iat`, `exp`, plus shoal's `uid`. Verification refuses every other
// algorithm (including "none"), a bad signature, an expired token and missing claims, each
// with its own message, so a refused client learns why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal::security {

struct JwtClaims {
  std::string user;  // "sun"
  uint32_t uid = 0;
  int64_t issued_at = 0;   // "iat", Unix seconds
  int64_t expires_at = 0;  // "exp", Unix seconds
};

// Tokens are refused with a key shorter than this (bytes).
constexpr size_t kMinJwtKeyBytes = 32;

// header.payload.signature, base64url, signed with HMAC-SHA256 under `key`.
std::string SignJwt(const JwtClaims& claims, std::string_view key);

// The claims of a token signed under `key` and not expired at `now`; kUnauthenticated with
// "malformed token: ...", "unsupported token algorithm ...", "bad token signature" or
// "token expired" otherwise.
Result<JwtClaims> VerifyJwt(std::string_view token, std::string_view key, int64_t now);

// The signing key at `path`: read when it exists (refused when group or others may access it,
// or when shorter than kMinJwtKeyBytes), else created with 32 random bytes and mode 0600.
Result<std::string> LoadOrCreateJwtKey(const std::string& path);

}  // namespace shoal::security
