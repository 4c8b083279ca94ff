// The public HTTP/JSON API (/api/v1, see src/api/ROUTES.md) as one handler over a Controller.
#pragma once

#include "api/server/http_server.h"
#include "controller/authz.h"
#include "controller/controller.h"

namespace shoal {

// `caller` is who is asking (resolved by ControllerHttpHandler); every rule it is held to is
// one of authz.h's predicates.
HttpResponse HandleApiRequest(Controller& controller, const HttpRequest& request,
                              const Caller& caller);

}  // namespace shoal
