#include "security/cluster_ca.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace shoal::security {
namespace {

class ClusterCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal_cluster_ca_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = DefaultClusterMaterialPaths(dir_);
    options_.names = {"ctl.example.org", "10.9.8.7", "0.0.0.0", ""};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static std::string Read(const std::string& path) {
    Result<std::string> r = ReadFileNamed(path, "test file");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : "";
  }

  std::string dir_;
  ClusterMaterialPaths paths_;
  CertificateOptions options_;
};

TEST_F(ClusterCaTest, CreatesACaAndAControllerCertificateThatVerifiesAgainstIt) {
  Result<std::vector<std::string>> created = EnsureClusterMaterial(paths_, options_);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->size(), 5u);
  EXPECT_EQ(paths_.ca_cert, dir_ + "/tls/ca.pem");
  EXPECT_EQ(paths_.cluster_key, dir_ + "/cluster.key");
  const std::string ca = Read(paths_.ca_cert), cert = Read(paths_.cert);
  EXPECT_TRUE(VerifyCertificate(cert, ca).ok()) << VerifyCertificate(cert, ca).message();
  EXPECT_TRUE(CheckKeyMatchesCertificate(Read(paths_.key), cert, "controller key").ok());
  EXPECT_TRUE(CheckKeyMatchesCertificate(Read(paths_.ca_key), ca, "CA key").ok());
  EXPECT_FALSE(CheckKeyMatchesCertificate(Read(paths_.ca_key), cert, "controller key").ok());
  // The CA verifies itself, and a certificate is not its own CA.
  EXPECT_TRUE(VerifyCertificate(ca, ca).ok());
  EXPECT_FALSE(VerifyCertificate(cert, cert).ok());
}

TEST_F(ClusterCaTest, ControllerCertificateCoversLoopbackAndTheGivenNames) {
  ASSERT_TRUE(EnsureClusterMaterial(paths_, options_).ok());
  const std::string cert = Read(paths_.cert);
  for (const char* host : {"localhost", "127.0.0.1", "::1", "ctl.example.org", "10.9.8.7"}) {
    EXPECT_TRUE(CertificateCovers(cert, host)) << host;
  }
  EXPECT_TRUE(CertificateCovers(cert, "[::1]"));
  for (const char* host : {"0.0.0.0", "10.9.8.6", "other.example.org", "example.org"}) {
    EXPECT_FALSE(CertificateCovers(cert, host)) << host;
  }
  // The CA is not a server certificate for anything.
  EXPECT_FALSE(CertificateCovers(Read(paths_.ca_cert), "localhost"));
}

TEST_F(ClusterCaTest, PrivateKeysAndTheClusterKeyAreOwnerOnly) {
  ::umask(0);  // the mode comes from creation, not from the caller's umask
  Result<std::vector<std::string>> created = EnsureClusterMaterial(paths_, options_);
  ::umask(022);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(Mode(paths_.ca_key), 0600u);
  EXPECT_EQ(Mode(paths_.key), 0600u);
  EXPECT_EQ(Mode(paths_.cluster_key), 0600u);
  EXPECT_EQ(Mode(paths_.ca_cert), 0644u);
  Result<std::string> key = LoadClusterKey(paths_.cluster_key);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->size(), 32u);
}

TEST_F(ClusterCaTest, NeverOverwritesExistingMaterial) {
  ASSERT_TRUE(EnsureClusterMaterial(paths_, options_).ok());
  const std::string ca = Read(paths_.ca_cert), key = Read(paths_.cluster_key);
  Result<std::vector<std::string>> again = EnsureClusterMaterial(paths_, options_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(Read(paths_.ca_cert), ca);
  EXPECT_EQ(Read(paths_.cluster_key), key);

  // A missing controller certificate is issued again by the same CA; the rest stays.
  std::filesystem::remove(paths_.cert);
  std::filesystem::remove(paths_.key);
  again = EnsureClusterMaterial(paths_, options_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, (std::vector<std::string>{paths_.cert, paths_.key}));
  EXPECT_TRUE(VerifyCertificate(Read(paths_.cert), ca).ok());

  // Half a pair is an error naming the missing file, and creates nothing.
  std::filesystem::remove(paths_.ca_key);
  again = EnsureClusterMaterial(paths_, options_);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find(paths_.ca_key), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(paths_.ca_key));
  EXPECT_EQ(Read(paths_.ca_cert), ca);
}

TEST_F(ClusterCaTest, SecretFilesReadableByOthersAreRefused) {
  ASSERT_TRUE(EnsureClusterMaterial(paths_, options_).ok());
  ASSERT_EQ(chmod(paths_.cluster_key.c_str(), 0640), 0);
  Result<std::string> key = LoadClusterKey(paths_.cluster_key);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find(paths_.cluster_key), std::string::npos);
  EXPECT_NE(key.status().message().find("0640"), std::string::npos);
  ASSERT_EQ(chmod(paths_.key.c_str(), 0604), 0);
  EXPECT_FALSE(ReadSecretFile(paths_.key).ok());

  Result<std::string> missing = LoadClusterKey(dir_ + "/nope.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir_ + "/nope.key"), std::string::npos);

  const std::string bad = dir_ + "/bad.key";
  { std::ofstream(bad) << "not hex\n"; }
  ASSERT_EQ(chmod(bad.c_str(), 0600), 0);
  EXPECT_FALSE(LoadClusterKey(bad).ok());
  EXPECT_FALSE(CheckCertificatePem("garbage", "x").ok());
}

TEST_F(ClusterCaTest, AnotherClustersCaDoesNotVerifyOurCertificate) {
  ASSERT_TRUE(EnsureClusterMaterial(paths_, options_).ok());
  ClusterMaterialPaths other = DefaultClusterMaterialPaths(dir_ + "/other");
  ASSERT_TRUE(EnsureClusterMaterial(other, options_).ok());
  EXPECT_FALSE(VerifyCertificate(Read(paths_.cert), Read(other.ca_cert)).ok());
  EXPECT_NE(Read(paths_.cluster_key), Read(other.cluster_key));
}

}  // namespace
}  // namespace shoal::security
