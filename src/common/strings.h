// Small string helpers used across modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// Splits on every `sep`; "a,,b" -> {"a","","b"}; "" -> {""}.
std::vector<std::string> Split(std::string_view s, char sep);
std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Whole-string decimal parse; nullopt on junk, sign where not allowed, or overflow.
std::optional<int64_t> ParseInt(std::string_view s);
std::optional<uint64_t> ParseUint(std::string_view s);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): the only text a JSON document can carry unchanged.
bool IsUtf8(std::string_view s);
// The length of the well-formed UTF-8 sequence starting at s[at] (1 for ASCII), or 0 when none
// starts there.
size_t Utf8SequenceLength(std::string_view s, size_t at);

}  // namespace shoal
