// The dashboard's files (src/dashboard/assets/), built into the binary at build time
// (embed_assets.cmake), so the controller serves them with nothing installed beside it.
#pragma once

#include <string_view>

namespace shoal {

struct DashboardAsset {
  std::string_view name;          // file name, e.g. "app.js"
  std::string_view content_type;  // from the extension
  std::string_view etag;          // quoted hash of the content
  std::string_view body;
};

// nullptr when there is no such file.
const DashboardAsset* FindDashboardAsset(std::string_view name);

}  // namespace shoal
