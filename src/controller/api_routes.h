// The public HTTP/JSON API (/api/v1, see src/api/ROUTES.md) as one handler over a Controller.
#pragma once

#include "api/server/http_server.h"
#include "controller/controller.h"

namespace shoal {

HttpResponse HandleApiRequest(Controller& controller, const HttpRequest& request);

}  // namespace shoal
