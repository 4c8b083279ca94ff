#include "common/webhook_url.h"

#include <string>

#include "common/strings.h"

namespace shoal {

Status ValidateWebhookUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    std::string shown(url.substr(0, 100));
    if (url.size() > 100) shown += "...";
    return InvalidArgument("invalid webhook URL '" + shown + "': " + why);
  };
  if (url.empty()) return InvalidArgument("invalid webhook URL: it is empty");
  if (url.size() > kMaxWebhookUrlLength) {
    return bad("longer than " + std::to_string(kMaxWebhookUrlLength) + " characters");
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("it contains white space or a control character");
  }
  const size_t colon = url.find("://");
  const std::string scheme = ToLower(url.substr(0, colon == std::string_view::npos ? 0 : colon));
  if (scheme != "http" && scheme != "https") {
    return bad("only http:// and https:// URLs are allowed");
  }
  std::string_view rest = url.substr(colon + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // user:password@, passed on to the receiver as given
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // [IPv6]
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its closing ']'");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad("the port is empty");
    }
    if (host.size() <= 2) return bad("no host");
  } else if (const size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
    if (port.empty()) return bad("the port is empty");
  }
  if (host.empty()) return bad("no host");
  if (!port.empty()) {
    std::optional<uint64_t> p = ParseUint(port);
    if (!p || *p == 0 || *p > 65535) return bad("the port must be a number from 1 to 65535");
  }
  return Status::Ok();
}

}  // namespace shoal
