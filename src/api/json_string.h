// JSON string literals written straight into a string, for the writers that skip the DOM (the
// compact tables, the store's job documents, JSON log lines).
#pragma once

#include <string>
#include <string_view>

namespace shoal {

// Appends `s` as a JSON string literal (quotes included). Bytes that are not valid UTF-8 become
// U+FFFD, as nlohmann's dump with error_handler_t::replace would write them.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace shoal
