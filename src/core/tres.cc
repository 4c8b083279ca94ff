#include "core/tres.h"

#include <algorithm>

#include "common/strings.h"
#include "common/units.h"

namespace shoal {

Status ParseTres(std::string_view text, Tres& tres) {
  Tres out = tres;
  for (const std::string& item : Split(text, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return InvalidArgument("invalid TRES '" + item + "' (expected NAME=COUNT, e.g. cpu=8)");
    }
    const std::string name = ToLower(item.substr(0, eq));
    const std::string value = item.substr(eq + 1);
    int64_t* field = nullptr;
    if (name == "cpu") {
      field = &out.cpu;
    } else if (name == "mem") {
      field = &out.mem_mb;
    } else if (name == "node") {
      field = &out.node;
    } else if (name == "gres/gpu" || name == "gpu") {
      field = &out.gpu;
    } else {
      return InvalidArgument("unknown TRES '" + item.substr(0, eq) +
                             "' (shoal tracks cpu, mem, node and gres/gpu)");
    }
    if (value == "-1") {
      *field = kNoLimit;
      continue;
    }
    if (field == &out.mem_mb) {
      auto mb = ParseMemoryMB(value);
      if (!mb.ok()) return InvalidArgument("invalid memory in TRES '" + item + "'");
      *field = static_cast<int64_t>(*mb);
      continue;
    }
    auto n = ParseUint(value);
    if (!n || *n > (uint64_t{1} << 62)) {
      return InvalidArgument("invalid count in TRES '" + item + "' (a whole number, or -1)");
    }
    *field = static_cast<int64_t>(*n);
  }
  tres = out;
  return Status::Ok();
}

std::string FormatTres(const Tres& tres) {
  std::string out;
  auto add = [&](const char* name, const std::string& value) {
    if (!out.empty()) out.push_back(',');
    out.append(name).append("=").append(value);
  };
  if (tres.cpu != kNoLimit) add("cpu", std::to_string(tres.cpu));
  if (tres.mem_mb != kNoLimit) add("mem", FormatMemoryMB(static_cast<uint64_t>(tres.mem_mb)));
  if (tres.node != kNoLimit) add("node", std::to_string(tres.node));
  if (tres.gpu != kNoLimit) add("gres/gpu", std::to_string(tres.gpu));
  return out;
}

std::string_view TresOverLimit(const Tres& limit, const Tres& used, const Tres& add) {
  auto over = [](int64_t lim, int64_t u, int64_t a) {
    return lim != kNoLimit && std::max<int64_t>(u, 0) + std::max<int64_t>(a, 0) > lim;
  };
  if (over(limit.cpu, used.cpu, add.cpu)) return "cpu";
  if (over(limit.mem_mb, used.mem_mb, add.mem_mb)) return "mem";
  if (over(limit.node, used.node, add.node)) return "node";
  if (over(limit.gpu, used.gpu, add.gpu)) return "gres/gpu";
  return "";
}

}  // namespace shoal
