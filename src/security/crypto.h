// Small, hard-to-misuse wrappers over OpenSSL's libcrypto for what shoal signs and checks:
// API tokens (HS256), webhook signatures (HMAC-SHA256) and the cluster key.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal::security {

// HMAC-SHA256 of `message` under `key`: 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view message);

// SHA-256 of `data`: 32 raw bytes.
std::string Sha256(std::string_view data);

// `n` bytes from the operating system's CSPRNG (OpenSSL's RAND_bytes); aborts if it fails,
// since no caller can do anything sensible with predictable keys.
std::string RandomBytes(size_t n);

// Compares two secrets in time that depends only on their lengths, not on where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// Lowercase hexadecimal, and back (InvalidArgument on odd length or a non-hex digit).
std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view hex);

// base64url without padding (RFC 4648 section 5), as JSON Web Tokens use it, and back
// (InvalidArgument on a character outside the alphabet or an impossible length).
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace shoal::security
