// The cluster's own certificate authority and shared key: what lets agents and the controller
// trust each other. The CA (EC P-256, self-signed) signs the controller's certificate, which
// agents verify on their TLS connection; the cluster key (32 random bytes, hex in its file)
// proves that an agent belongs to the cluster (security/membership.h).
//
// Material is created once and never overwritten: every file is created exclusively, private
// keys and the cluster key with mode 0600 from the start (never chmod'ed afterwards).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::security {

struct ClusterMaterialPaths {
  std::string ca_cert;      // ca.pem: the CA certificate (public; agents trust it)
  std::string ca_key;       // ca.key: signs the controller's certificate
  std::string cert;         // controller.pem
  std::string key;          // controller.key
  std::string cluster_key;  // cluster.key
};

// STATE/tls/{ca.pem,ca.key,controller.pem,controller.key} and STATE/cluster.key.
ClusterMaterialPaths DefaultClusterMaterialPaths(const std::string& state_dir);

struct CertificateOptions {
  std::string cluster_name = "shoal";  // in the certificates' common names
  // Host names and addresses the controller's certificate covers besides localhost, 127.0.0.1
  // and ::1: an entry that parses as an IPv4/IPv6 address becomes an IP SAN, anything else a
  // DNS SAN. Wildcard addresses (0.0.0.0, ::) and empty entries are skipped.
  std::vector<std::string> names;
  int days = 3650;  // ~10 years
};

// Creates whatever of `paths` is missing: the CA (when both of its files are missing), the
// controller's certificate signed by it (when both of its files are missing) and the cluster
// key. Returns the files it created. A CA or certificate with only one of its two files present
// is an error naming the missing one: new material beside old would not match.
Result<std::vector<std::string>> EnsureClusterMaterial(const ClusterMaterialPaths& paths,
                                                       const CertificateOptions& options);

// The host name and the addresses of this host's interfaces (what an agent elsewhere may dial
// when the controller listens on a wildcard address).
std::vector<std::string> LocalHostNamesAndAddresses();

// What the controller serves agents with, read and checked: each file readable, the
// certificates PEM, the key files owner-only (ReadSecretFile), the key the certificate's, the
// certificate signed by the CA. Errors name the file. No cluster key path: none is read (a
// relay serves agents but proves nothing itself).
struct ServerMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  std::string cluster_key;  // raw bytes
};
Result<ServerMaterial> LoadServerMaterial(const ClusterMaterialPaths& paths);

// What an agent needs: the CA to verify the controller with, and the cluster key.
struct AgentMaterial {
  std::string ca_pem;
  std::string cluster_key;  // raw bytes
};
Result<AgentMaterial> LoadAgentMaterial(const std::string& ca_file,
                                        const std::string& cluster_key_file);

// Reads a file that holds a secret: refused (PermissionDenied naming the file) when group or
// others may read or write it, or when it is not a regular file.
Result<std::string> ReadSecretFile(const std::string& path);
// Reads a file, with an error naming it when it is missing or unreadable.
Result<std::string> ReadFileNamed(const std::string& path, const std::string& what);
// The cluster key from its file (ReadSecretFile; 64 hex digits, surrounding whitespace
// ignored): the 32 raw bytes.
Result<std::string> LoadClusterKey(const std::string& path);

// Checks PEM text: a certificate (InvalidArgument naming `what` when it is not one), or a
// private key matching that certificate.
Status CheckCertificatePem(const std::string& pem, const std::string& what);
Status CheckKeyMatchesCertificate(const std::string& key_pem, const std::string& cert_pem,
                                  const std::string& what);

// SHA-256 of the certificate's DER encoding, hex (as `openssl x509 -outform der | sha256sum`):
// what a join token pins the cluster CA with.
Result<std::string> CertificateSha256(const std::string& pem);

// The certificates a TLS server at host:port presents (leaf first, PEM), fetched WITHOUT any
// verification: only for comparing against a hash known beforehand (a join token's).
Result<std::vector<std::string>> FetchPeerCertificates(const std::string& host, uint16_t port,
                                                       int timeout_ms = 5000);

// Creates `path` exclusively with `mode` (a file that appeared meanwhile is never touched; its
// directory is created) and writes and syncs `content`; a half-written file is removed.
Status WriteNewFile(const std::string& path, const std::string& content, unsigned mode);

// Whether the certificate was signed by the CA (signature and validity dates).
Status VerifyCertificate(const std::string& cert_pem, const std::string& ca_pem);
// Whether the certificate's subjectAltNames cover `host` (an IP address or a DNS name).
bool CertificateCovers(const std::string& cert_pem, const std::string& host);

}  // namespace shoal::security
