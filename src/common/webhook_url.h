// Webhook receiver URLs, as the cluster config (WebhookURL=) and jobs (sbatch --webhook) give
// them. Checked where they come in, so a typo is an error at submit or at start rather than an
// event that can never be delivered.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace shoal {

// Longer URLs are refused: they are stored with every event and sent on every attempt.
inline constexpr size_t kMaxWebhookUrlLength = 2048;

// OK for an absolute http:// or https:// URL with a host (and, if given, a port 1-65535), no
// white space or control characters, at most kMaxWebhookUrlLength bytes. Otherwise
// InvalidArgument naming the problem and quoting the URL.
Status ValidateWebhookUrl(std::string_view url);

}  // namespace shoal
