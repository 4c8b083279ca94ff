#include "cli/step_view.h"

#include "common/hostlist.h"
#include "common/slurm_time.h"

namespace shoal {
namespace {

// Right-justified in `width`, cut to it when longer (squeue's "%.Nx").
std::string Right(const std::string& v, size_t width) {
  if (v.size() >= width) return v.substr(0, width);
  return std::string(width - v.size(), ' ') + v;
}

}  // namespace

std::string RenderStepList(const std::vector<Step>& steps, bool header, int64_t now) {
  std::string out;
  auto line = [&](const std::string& id, const std::string& name, const std::string& partition,
                  const std::string& user, const std::string& time, const std::string& nodes) {
    out += Right(id, 15) + " " + Right(name, 8) + " " + Right(partition, 9) + " " + Right(user, 8) +
           " " + Right(time, 9) + " " + nodes + "\n";
  };
  if (header) line("STEPID", "NAME", "PARTITION", "USER", "TIME", "NODELIST");
  for (const Step& s : steps) {
    const int64_t end = s.end_time > 0 ? s.end_time : now;
    line(s.DisplayId(), s.name, s.partition, s.user,
         FormatDuration(std::max<int64_t>(0, end - s.start_time)), CompressHostlist(s.nodes));
  }
  return out;
}

}  // namespace shoal
