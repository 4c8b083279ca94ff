// The public API's client, used by the Slurm-named commands. Deliberately small: one blocking
// HTTP/1.1 request per call over a Unix socket (or TCP), no dependencies beyond libc and
// nlohmann-json, so a command starts in well under a millisecond.
//
// Finding the controller: $SHOAL_CONTROLLER ("unix:/path/to.sock" or "host:port", or several
// separated by commas: controllers sharing a cluster, tried in order), else the
// socket "controller.sock" in $SHOAL_STATE_DIR, else in ~/.local/share/shoal, else the packaged
// controller's (kSystemControllerSocket). Over TCP the
// client sends $SLURM_JWT (a token from `scontrol token`, Slurm's variable) as a Bearer token;
// on the Unix socket the kernel names the caller and no token is sent.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_model.h"
#include "common/prefault.h"
#include "common/status.h"

namespace shoal {

// The state directory: $SHOAL_STATE_DIR or $HOME/.local/share/shoal.
std::string DefaultStateDir();

// The socket of the packaged controller (shoal-controller.service's state directory). The
// commands use it when neither variable names a cluster and the user has none of their own.
inline constexpr char kSystemControllerSocket[] = "/var/lib/shoal/controller/controller.sock";

// The body of a 2xx answer, in memory of its own allocated once at its announced size: a
// listing of megabytes is neither grown by doubling nor moved once it has arrived.
class ResponseBody {
 public:
  ResponseBody() = default;
  explicit ResponseBody(std::string_view text);

  std::string_view text() const { return {data_.get(), size_}; }
  bool empty() const { return size_ == 0; }

 private:
  friend class ApiClient;
  LargeBuffer data_;
  size_t size_ = 0;
};

class ApiClient {
 public:
  // Endpoint resolved from the environment as described above.
  static ApiClient FromEnvironment();
  explicit ApiClient(std::string endpoint, std::string token = "")
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  // Performs one request; `body` is sent as JSON when not null. A 2xx answer returns the
  // parsed body; an error answer returns the Status carried in its error document. When the
  // controller cannot be reached within `timeout_ms`, returns kUnavailable with the message
  // "Unable to contact slurm controller (connect failure)".
  Result<Json> Call(std::string_view method, std::string_view path, const Json& body = nullptr,
                    int timeout_ms = 2000) const;
  Result<Json> Get(std::string_view path) const { return Call("GET", path); }
  // As Call, but a 2xx answer's body comes back unparsed, for callers that decode it
  // themselves (squeue reads a large job table without building a DOM).
  Result<ResponseBody> CallRaw(std::string_view method, std::string_view path,
                               const Json& body = nullptr, int timeout_ms = 2000) const;
  Result<Json> Post(std::string_view path, const Json& body) const {
    return Call("POST", path, body);
  }

  const std::string& endpoint() const { return endpoint_; }
  // The endpoints in endpoint(), a comma-separated list, in order. With several, a call goes to
  // the first that is reached and is not a standby (HTTP 503 with a "standby" member); it moves
  // on only when the request was not sent (connect failure) or a standby refused it, so a
  // mutation is never sent twice.
  std::vector<std::string> Endpoints() const;
  // Whether the endpoint is the controller's Unix socket (where tokens are not needed).
  bool unix_socket() const { return endpoint_.rfind("unix:", 0) == 0; }

 private:
  // One endpoint; *try_next (when given) is set when the next one may be tried.
  Result<ResponseBody> CallOne(const std::string& endpoint, std::string_view method,
                               std::string_view path, const Json& body, int timeout_ms,
                               bool* try_next) const;

  std::string endpoint_;
  std::string token_;  // sent as "Authorization: Bearer" over TCP when not empty
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace shoal
