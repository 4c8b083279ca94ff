// Signal names as scancel -s and ExitCode print them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shoal {

// "TERM", "SIGTERM", "term", "15" -> 15. nullopt for unknown names or numbers out of 1..64.
std::optional<int> ParseSignal(std::string_view text);
// 15 -> "TERM"; unknown -> the number as text.
std::string SignalName(int sig);

}  // namespace shoal
