#include "security/cluster_ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/strings.h"
#include "security/crypto.h"

namespace shoal::security {
namespace {

namespace fs = std::filesystem;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// OpenSSL's last error, for messages.
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

Status WriteNewFile(const std::string& path, const std::string& content, unsigned mode) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Internal("cannot create " + parent.string() + ": " + ec.message());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(path + " already exists; it is never overwritten");
    return Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      close(fd);
      unlink(path.c_str());
      return Internal("cannot write " + path + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(path.c_str());
    return Internal("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

namespace {

Result<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Internal("cannot generate an EC P-256 key: " + OpenSslError());
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

PkeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

// Adds one extension given in OpenSSL's config syntax ("critical,CA:TRUE").
Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal(std::string("cannot add ") + OBJ_nid2sn(nid) + " '" + value +
                    "': " + OpenSslError());
  }
  return Status::Ok();
}

// A certificate with a random 127-bit serial, valid from an hour ago (clocks drift) for `days`.
Result<X509Ptr> NewCert(EVP_PKEY* key, const std::string& common_name, int days) {
  X509Ptr cert(X509_new());
  if (!cert) return Internal("cannot allocate a certificate: " + OpenSslError());
  X509_set_version(cert.get(), X509_VERSION_3);
  std::string serial = RandomBytes(16);
  serial[0] = static_cast<char>(serial[0] & 0x7f);  // positive
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()),
                         static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("shoal"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

bool IsIpAddress(const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Status CreateCa(const ClusterMaterialPaths& paths, const CertificateOptions& options) {
  Result<PkeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  Result<X509Ptr> cert = NewCert(key->get(), options.cluster_name + " cluster CA", options.days);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status s = AddExtension(c, c, nid, value); !s.ok()) return s;
  }
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) {
    return Internal("cannot sign the CA certificate: " + OpenSslError());
  }
  // The key first: a CA certificate without its key could never sign anything.
  if (Status s = WriteNewFile(paths.ca_key, KeyPem(key->get()), 0600); !s.ok()) return s;
  if (Status s = WriteNewFile(paths.ca_cert, CertPem(c), 0644); !s.ok()) {
    unlink(paths.ca_key.c_str());
    return s;
  }
  return Status::Ok();
}

Status IssueControllerCert(const ClusterMaterialPaths& paths, const CertificateOptions& options) {
  Result<std::string> ca_pem = ReadFileNamed(paths.ca_cert, "CA certificate");
  if (!ca_pem.ok()) return ca_pem.status();
  Result<std::string> ca_key_pem = ReadSecretFile(paths.ca_key);
  if (!ca_key_pem.ok()) return ca_key_pem.status();
  X509Ptr ca = ParseCert(*ca_pem);
  if (!ca) return InvalidArgument(paths.ca_cert + " is not a PEM certificate");
  PkeyPtr ca_key = ParseKey(*ca_key_pem);
  if (!ca_key) return InvalidArgument(paths.ca_key + " is not a PEM private key");

  Result<PkeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  Result<X509Ptr> cert = NewCert(key->get(), options.cluster_name + " controller", options.days);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(ca.get()));
  std::vector<std::string> sans;
  auto add = [&sans](const std::string& name) {
    if (name.empty() || name == "0.0.0.0" || name == "::" || name == "[::]") return;
    std::string entry = (IsIpAddress(name) ? "IP:" : "DNS:") + name;
    if (std::find(sans.begin(), sans.end(), entry) == sans.end()) sans.push_back(entry);
  };
  for (const char* n : {"localhost", "127.0.0.1", "::1"}) add(n);
  for (const std::string& n : options.names) add(n);
  std::string san_list;
  for (const std::string& s : sans) san_list += (san_list.empty() ? "" : ",") + s;
  for (auto [nid, value] :
       {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair<int, std::string>{NID_key_usage, "critical,digitalSignature,keyAgreement"},
        std::pair<int, std::string>{NID_ext_key_usage, "serverAuth,clientAuth"},
        std::pair<int, std::string>{NID_subject_key_identifier, "hash"},
        std::pair<int, std::string>{NID_authority_key_identifier, "keyid:always"},
        std::pair<int, std::string>{NID_subject_alt_name, san_list}}) {
    if (Status s = AddExtension(c, ca.get(), nid, value); !s.ok()) return s;
  }
  if (X509_sign(c, ca_key.get(), EVP_sha256()) == 0) {
    return Internal("cannot sign the controller certificate: " + OpenSslError());
  }
  if (Status s = WriteNewFile(paths.key, KeyPem(key->get()), 0600); !s.ok()) return s;
  if (Status s = WriteNewFile(paths.cert, CertPem(c), 0644); !s.ok()) {
    unlink(paths.key.c_str());
    return s;
  }
  return Status::Ok();
}

// Both files of a pair present, or both missing; one alone is an error.
Result<bool> PairMissing(const std::string& cert, const std::string& key) {
  const bool has_cert = Exists(cert), has_key = Exists(key);
  if (has_cert && !has_key) {
    return FailedPrecondition(key + " is missing but " + cert +
                              " exists: restore the key or remove both");
  }
  if (has_key && !has_cert) {
    return FailedPrecondition(cert + " is missing but " + key +
                              " exists: restore the certificate or remove both");
  }
  return !has_cert;
}

}  // namespace

ClusterMaterialPaths DefaultClusterMaterialPaths(const std::string& state_dir) {
  const std::string tls = state_dir + "/tls/";
  return {tls + "ca.pem", tls + "ca.key", tls + "controller.pem", tls + "controller.key",
          state_dir + "/cluster.key"};
}

Result<std::vector<std::string>> EnsureClusterMaterial(const ClusterMaterialPaths& paths,
                                                       const CertificateOptions& options) {
  std::vector<std::string> created;
  Result<bool> ca_missing = PairMissing(paths.ca_cert, paths.ca_key);
  if (!ca_missing.ok()) return ca_missing.status();
  Result<bool> cert_missing = PairMissing(paths.cert, paths.key);
  if (!cert_missing.ok()) return cert_missing.status();
  if (*ca_missing && !*cert_missing) {
    return FailedPrecondition("the CA (" + paths.ca_cert +
                              ") is missing but its controller "
                              "certificate " +
                              paths.cert + " exists: restore the CA");
  }
  if (*ca_missing) {
    if (Status s = CreateCa(paths, options); !s.ok()) return s;
    created.insert(created.end(), {paths.ca_cert, paths.ca_key});
  }
  if (*cert_missing) {
    if (Status s = IssueControllerCert(paths, options); !s.ok()) return s;
    created.insert(created.end(), {paths.cert, paths.key});
  }
  if (!Exists(paths.cluster_key)) {
    if (Status s = WriteNewFile(paths.cluster_key, HexEncode(RandomBytes(32)) + "\n", 0600);
        !s.ok()) {
      return s;
    }
    created.push_back(paths.cluster_key);
  }
  return created;
}

std::vector<std::string> LocalHostNamesAndAddresses() {
  std::vector<std::string> out;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') out.push_back(host);
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) == 0) {
    for (ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || !(a->ifa_flags & IFF_UP)) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      if (a->ifa_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
        if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a scope: nobody dials it
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
      } else {
        continue;
      }
      out.push_back(buf);
    }
    freeifaddrs(addrs);
  }
  return out;
}

Result<std::string> ReadFileNamed(const std::string& path, const std::string& what) {
  if (path.empty()) return InvalidArgument("no " + what + " file given");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return FailedPrecondition("cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> ReadSecretFile(const std::string& path) {
  if (path.empty()) return InvalidArgument("no key file given");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return FailedPrecondition("cannot read key file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return FailedPrecondition("key file " + path + " is not a file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied("key file " + path + " is accessible by group or others (mode " + mode +
                            "): it must be 0600 (chmod 600 " + path + ")");
  }
  return ReadFileNamed(path, "key file");
}

Result<std::string> LoadClusterKey(const std::string& path) {
  Result<std::string> text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  std::string hex(Trim(*text));
  Result<std::string> key = HexDecode(hex);
  if (!key.ok() || key->size() != 32) {
    return InvalidArgument("cluster key file " + path +
                           " does not hold a cluster key (64 hexadecimal digits)");
  }
  return key;
}

Result<ServerMaterial> LoadServerMaterial(const ClusterMaterialPaths& paths) {
  ServerMaterial m;
  Result<std::string> ca = ReadFileNamed(paths.ca_cert, "TLS CA file");
  if (!ca.ok()) return ca.status();
  if (Status s = CheckCertificatePem(*ca, "TLS CA file " + paths.ca_cert); !s.ok()) return s;
  Result<std::string> cert = ReadFileNamed(paths.cert, "TLS certificate file");
  if (!cert.ok()) return cert.status();
  if (Status s = CheckCertificatePem(*cert, "TLS certificate file " + paths.cert); !s.ok()) {
    return s;
  }
  if (Status s = VerifyCertificate(*cert, *ca); !s.ok()) {
    return InvalidArgument("TLS certificate file " + paths.cert + " is not signed by the CA " +
                           paths.ca_cert + " (" + s.message() + ")");
  }
  Result<std::string> key = ReadSecretFile(paths.key);
  if (!key.ok()) return key.status();
  if (Status s = CheckKeyMatchesCertificate(*key, *cert, "TLS key file " + paths.key); !s.ok()) {
    return s;
  }
  std::string cluster_key;
  if (!paths.cluster_key.empty()) {
    Result<std::string> loaded = LoadClusterKey(paths.cluster_key);
    if (!loaded.ok()) return loaded.status();
    cluster_key = *std::move(loaded);
  }
  return ServerMaterial{*std::move(ca), *std::move(cert), *std::move(key), std::move(cluster_key)};
}

Result<AgentMaterial> LoadAgentMaterial(const std::string& ca_file,
                                        const std::string& cluster_key_file) {
  Result<std::string> ca = ReadFileNamed(ca_file, "TLS CA file");
  if (!ca.ok()) return ca.status();
  if (Status s = CheckCertificatePem(*ca, "TLS CA file " + ca_file); !s.ok()) return s;
  Result<std::string> key = LoadClusterKey(cluster_key_file);
  if (!key.ok()) return key.status();
  return AgentMaterial{*std::move(ca), *std::move(key)};
}

Status CheckCertificatePem(const std::string& pem, const std::string& what) {
  if (!ParseCert(pem)) return InvalidArgument(what + " is not a PEM certificate");
  return Status::Ok();
}

Status CheckKeyMatchesCertificate(const std::string& key_pem, const std::string& cert_pem,
                                  const std::string& what) {
  PkeyPtr key = ParseKey(key_pem);
  if (!key) return InvalidArgument(what + " is not a PEM private key");
  X509Ptr cert = ParseCert(cert_pem);
  if (!cert || X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument(what + " is not the key of its certificate");
  }
  return Status::Ok();
}

Status VerifyCertificate(const std::string& cert_pem, const std::string& ca_pem) {
  X509Ptr cert = ParseCert(cert_pem), ca = ParseCert(ca_pem);
  if (!cert || !ca) return InvalidArgument("not a PEM certificate");
  std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>> ctx(
      X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(ctx.get()) != 1) {
    return PermissionDenied(std::string("certificate does not verify: ") +
                            X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return Status::Ok();
}

bool CertificateCovers(const std::string& cert_pem, const std::string& host) {
  X509Ptr cert = ParseCert(cert_pem);
  if (!cert) return false;
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (IsIpAddress(h)) return X509_check_ip_asc(cert.get(), h.c_str(), 0) == 1;
  return X509_check_host(cert.get(), h.data(), h.size(), 0, nullptr) == 1;
}

}  // namespace shoal::security

namespace shoal::security {

Result<std::string> CertificateSha256(const std::string& pem) {
  X509Ptr cert = ParseCert(pem);
  if (!cert) return InvalidArgument("not a PEM certificate");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  if (n <= 0) return Internal("cannot encode a certificate: " + OpenSslError());
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return HexEncode(Sha256(bytes));
}

Result<std::vector<std::string>> FetchPeerCertificates(const std::string& host, uint16_t port,
                                                       int timeout_ms) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = -1;
  std::string connect_error = "no address";
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      connect_error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return Unavailable("cannot connect to " + where + ": " + connect_error);

  // Nothing is verified here: the caller trusts only a certificate whose hash it already knows.
  std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>> ctx(SSL_CTX_new(TLS_client_method()));
  std::unique_ptr<SSL, Deleter<SSL, SSL_free>> ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl) {
    close(fd);
    return Internal("cannot set up TLS: " + OpenSslError());
  }
  SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};  // gRPC's servers want HTTP/2
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  SSL_set_fd(ssl.get(), fd);
  std::vector<std::string> chain;
  if (SSL_connect(ssl.get()) == 1) {
    STACK_OF(X509)* certs = SSL_get_peer_cert_chain(ssl.get());
    for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
      chain.push_back(CertPem(sk_X509_value(certs, i)));
    }
    SSL_shutdown(ssl.get());
  }
  const std::string error = chain.empty() ? OpenSslError() : "";
  ssl.reset();
  close(fd);
  if (chain.empty()) return Unavailable("no TLS handshake with " + where + ": " + error);
  return chain;
}

}  // namespace shoal::security
