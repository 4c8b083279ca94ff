// sshare: the fair-share tree (shares, normalised shares, usage and factors of associations).
#include <cstdio>
#include <set>

#include "api/client.h"
#include "cli/command_util.h"
#include "cli/commands.h"
#include "cli/users.h"
#include "common/strings.h"

namespace shoal {
namespace {

constexpr char kProg[] = "sshare";

enum : int { kOptHelp = 0x100, kOptUsage };

constexpr char kShortOpts[] = "aA:hlnpPu:UvV";

const option kLongOpts[] = {
    {"all", no_argument, nullptr, 'a'},
    {"accounts", required_argument, nullptr, 'A'},
    {"noheader", no_argument, nullptr, 'n'},
    {"long", no_argument, nullptr, 'l'},
    {"parsable", no_argument, nullptr, 'p'},
    {"parsable2", no_argument, nullptr, 'P'},
    {"users", required_argument, nullptr, 'u'},
    {"Users", no_argument, nullptr, 'U'},
    {"verbose", no_argument, nullptr, 'v'},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, kOptHelp},
    {"usage", no_argument, nullptr, kOptUsage},
    {nullptr, 0, nullptr, 0},
};

constexpr char kHelp[] =
    "Usage: sshare [-ahlnpPUvV] [-A ACCOUNTS] [-u USERS]\n"
    "  -a, --all           every user's associations (default: yours, and all accounts)\n"
    "  -A, --accounts=LIST only these accounts\n"
    "  -u, --users=LIST    these users' associations\n"
    "  -U, --Users         user rows only\n"
    "  -n, --noheader      no header\n"
    "  -p, --parsable      '|' after every field;  -P, --parsable2: '|' between fields\n"
    "  -V, --version       print the version\n";

std::string Fixed(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%f", v);
  return buf;
}

}  // namespace

int SshareMain(int argc, char** argv) {
  GetoptResult parsed = RunGetopt(kProg, ArgsOf(argc, argv), kShortOpts, kLongOpts);
  if (!parsed.ok) return ReportError({TryHelpLine(kProg), 1});
  bool all = false, header = true, parsable = false, parsable2 = false, users_only = false;
  std::set<std::string> accounts, users;
  for (const ParsedOption& o : parsed.options) {
    switch (o.id) {
      case 'a': all = true; break;
      case 'A':
        for (const std::string& a : Split(o.arg, ',')) {
          if (!a.empty()) accounts.insert(ToLower(a));
        }
        break;
      case 'n': header = false; break;
      case 'p': parsable = true; break;
      case 'P': parsable2 = true; break;
      case 'u':
        for (const std::string& u : Split(o.arg, ',')) {
          if (!u.empty()) users.insert(u);
        }
        break;
      case 'U': users_only = true; break;
      case 'V': fputs(kVersionLine, stdout); return 0;
      case 'h':
      case kOptHelp:
      case kOptUsage: fputs(kHelp, stdout); return 0;
      default: break;  // -l, -v
    }
  }
  if (!parsed.operands.empty()) {
    fprintf(stderr, "sshare: error: Unrecognized option: %s\n", parsed.operands[0].c_str());
    return 1;
  }
  if (users.empty() && !all) users.insert(CurrentUser().name);

  auto answer = ApiClient::FromEnvironment().Get("/api/v1/shares");
  if (!answer.ok()) {
    fprintf(stderr, "sshare: error: %s\n", answer.status().message().c_str());
    return 1;
  }
  struct Column {
    const char* header;
    int width;
    bool left;
  };
  const Column columns[] = {{"Account", 20, true},      {"User", 10, false},
                            {"RawShares", 10, false},   {"NormShares", 11, false},
                            {"RawUsage", 11, false},    {"EffectvUsage", 13, false},
                            {"FairShare", 10, false}};
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (parsable || parsable2) {
        out += cells[i];
        if (parsable || i + 1 < cells.size()) out.push_back('|');
        continue;
      }
      std::string v = cells[i];
      const size_t w = static_cast<size_t>(columns[i].width);
      if (v.size() > w) v = v.substr(0, w - 1) + "+";
      const std::string pad(w - v.size(), ' ');
      out += columns[i].left ? v + pad : pad + v;
      out.push_back(' ');
    }
    out.push_back('\n');
  };
  if (header) {
    std::vector<std::string> names;
    for (const Column& c : columns) names.push_back(c.header);
    line(names);
    if (!parsable && !parsable2) {
      for (const Column& c : columns) out += std::string(static_cast<size_t>(c.width), '-') + " ";
      out.push_back('\n');
    }
  }
  try {
    for (const Json& r : (*answer)["rows"]) {
      const std::string account = r[0].get<std::string>();
      const std::string user = r[1].get<std::string>();
      if (!accounts.empty() && accounts.count(account) == 0) continue;
      if (user.empty() ? users_only : (!all && users.count(user) == 0)) continue;
      const int depth = r[2].get<int>();
      const double fairshare = r[7].get<double>();
      // Parsable output carries names unindented, as scripts want them.
      const std::string indent = parsable || parsable2 ? "" : std::string(static_cast<size_t>(depth), ' ');
      line({indent + account, user, std::to_string(r[3].get<uint32_t>()),
            Fixed(r[4].get<double>()), std::to_string(static_cast<int64_t>(r[5].get<double>() + 0.5)),
            Fixed(r[6].get<double>()), fairshare < 0 ? "" : Fixed(fairshare)});
    }
  } catch (const Json::exception& e) {
    fprintf(stderr, "sshare: error: malformed answer from controller: %s\n", e.what());
    return 1;
  }
  fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace shoal
