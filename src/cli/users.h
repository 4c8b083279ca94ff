// User and group lookups for the commands (uid <-> name), cached per process because squeue
// and sacct ask for the same few ids on every line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shoal {

struct UserIdentity {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// The invoking user (getuid/getgid; the name is the uid's text when it has no passwd entry).
UserIdentity CurrentUser();

// Name of a uid / gid, or the number as text when unknown.
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);

// A user name or a numeric uid -> uid; nullopt when neither.
std::optional<uint32_t> LookupUid(std::string_view name_or_uid);

}  // namespace shoal
