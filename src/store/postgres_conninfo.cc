#include "store/postgres_conninfo.h"

#include <libpq-fe.h>

#include <regex>

#include "common/strings.h"

namespace shoal {

Status ValidatePostgresConninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (options == nullptr) {
    std::string m = err ? std::string(Trim(err)) : "out of memory";
    PQfreemem(err);
    return InvalidArgument(m);
  }
  PQconninfoFree(options);
  return Status::Ok();
}

std::string RedactConninfo(const std::string& conninfo) {
  static const std::regex kUriPassword(R"(^(postgres(?:ql)?://[^:@/?]*:)[^@/?]*@)");
  static const std::regex kUriParam(R"(([?&]password=)[^&]*)");
  static const std::regex kKeyValue(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*))");
  if (conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://")) {
    return std::regex_replace(std::regex_replace(conninfo, kUriPassword, "$1*****@"), kUriParam,
                              "$1*****");
  }
  return std::regex_replace(conninfo, kKeyValue, "$1*****");
}

}  // namespace shoal
