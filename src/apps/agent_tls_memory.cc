// Smaller OpenSSL buffers for the controller's agent connections.
//
// A heaptrack profile of the controller with 2,000 TLS agents (bench/RESULTS.md, "Controller
// memory at 10,000 TLS agents") put about 68 KB of every connection's ~140 KB in OpenSSL buffers
// that gRPC 1.51 sizes and exposes no option for:
//   - the BIO pair between gRPC and OpenSSL: gRPC's server passes 0 for both sizes, so each half
//     gets OpenSSL's default of 17 KB;
//   - the SSL object's record read and write buffers (about 17 KB each), kept for the
//     connection's life although an agent's messages are a few hundred bytes a second.
// This file interposes the two calls gRPC makes to create them (the executable's definitions
// come first in the dynamic linker's lookup, and gRPC calls both through its PLT):
//   - gRPC's server handshaker factory, to ask for small BIO halves;
//   - SSL_new while that factory runs, to set SSL_MODE_RELEASE_BUFFERS, so that OpenSSL frees
//     the record buffers whenever a record has been handled.
// Only server handshakers change: the controller's own gRPC clients keep gRPC's defaults.
//
// Sizes: the network half receives ciphertext from gRPC, which writes only what fits and hands
// the rest over later, so any size works. The SSL half holds one record that OpenSSL writes
// whole; gRPC's records are at most GRPC_ARG_TSI_MAX_FRAME_SIZE (the controller asks for 4 KB,
// shoal_controller_main.cc), so 6 KB leaves room for a record and the session tickets that may
// follow the handshake. Raise kSslBioBytes with that frame size.
//
// SHOAL_AGENT_TLS_BUFFERS=grpc keeps gRPC's and OpenSSL's defaults (for measuring the
// difference with one build).
#include <dlfcn.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <cstring>

// gRPC's declarations (src/core/tsi/ssl_transport_security.h, not installed). The return type
// (tsi_result, a C enum) is not part of the mangled name.
struct tsi_ssl_server_handshaker_factory;
struct tsi_handshaker;

namespace {

constexpr unsigned long kNetworkBioBytes = 4096;
constexpr unsigned long kSslBioBytes = 6144;

thread_local bool creating_server_handshaker = false;

bool Lean() {
  static const bool lean = [] {
    const char* v = std::getenv("SHOAL_AGENT_TLS_BUFFERS");
    return v == nullptr || std::strcmp(v, "grpc") != 0;
  }();
  return lean;
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

int tsi_ssl_server_handshaker_factory_create_handshaker(tsi_ssl_server_handshaker_factory* factory,
                                                        unsigned long network_bio_buf_size,
                                                        unsigned long ssl_bio_buf_size,
                                                        tsi_handshaker** handshaker) {
  using Fn =
      int (*)(tsi_ssl_server_handshaker_factory*, unsigned long, unsigned long, tsi_handshaker**);
  static const Fn next = Next<Fn>(
      "_Z51tsi_ssl_server_handshaker_factory_create_handshakerP33tsi_ssl_server_"
      "handshaker_factorymmPP14tsi_handshaker");
  if (next == nullptr) std::abort();  // cannot happen: gRPC itself called us by this name
  if (!Lean()) return next(factory, network_bio_buf_size, ssl_bio_buf_size, handshaker);
  if (network_bio_buf_size == 0) network_bio_buf_size = kNetworkBioBytes;
  if (ssl_bio_buf_size == 0) ssl_bio_buf_size = kSslBioBytes;
  creating_server_handshaker = true;
  int result = next(factory, network_bio_buf_size, ssl_bio_buf_size, handshaker);
  creating_server_handshaker = false;
  return result;
}

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  using Fn = SSL* (*)(SSL_CTX*);
  static const Fn next = Next<Fn>("SSL_new");
  if (next == nullptr) std::abort();
  SSL* ssl = next(ctx);
  if (ssl != nullptr && creating_server_handshaker) SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}
