#include "cli/users.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <map>

#include "common/strings.h"

namespace shoal {

UserIdentity CurrentUser() {
  UserIdentity u;
  u.uid = static_cast<uint32_t>(getuid());
  u.gid = static_cast<uint32_t>(getgid());
  u.name = UserName(u.uid);
  return u;
}

std::string UserName(uint32_t uid) {
  static std::map<uint32_t, std::string> cache;
  auto it = cache.find(uid);
  if (it != cache.end()) return it->second;
  passwd* pw = getpwuid(static_cast<uid_t>(uid));
  std::string name = pw != nullptr ? pw->pw_name : std::to_string(uid);
  cache.emplace(uid, name);
  return name;
}

std::string GroupName(uint32_t gid) {
  static std::map<uint32_t, std::string> cache;
  auto it = cache.find(gid);
  if (it != cache.end()) return it->second;
  group* gr = getgrgid(static_cast<gid_t>(gid));
  std::string name = gr != nullptr ? gr->gr_name : std::to_string(gid);
  cache.emplace(gid, name);
  return name;
}

std::optional<uint32_t> LookupUid(std::string_view name_or_uid) {
  std::string name(name_or_uid);
  if (passwd* pw = getpwnam(name.c_str()); pw != nullptr) return static_cast<uint32_t>(pw->pw_uid);
  if (auto n = ParseUint(name); n && *n <= UINT32_MAX) return static_cast<uint32_t>(*n);
  return std::nullopt;
}

}  // namespace shoal
