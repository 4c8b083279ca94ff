#include "security/jwt.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "security/crypto.h"

namespace shoal::security {
namespace {

const std::string kKey(32, 'k');

JwtClaims Claims() { return {"alice", 1001, 1000, 2800}; }

std::string Part(const std::string& token, int i) {
  size_t a = 0;
  for (int k = 0; k < i; ++k) a = token.find('.', a) + 1;
  return token.substr(a, token.find('.', a) - a);
}

// header.payload signed properly under kKey, so only what the test breaks is wrong.
std::string Forge(const std::string& header, const std::string& payload) {
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(HmacSha256(kKey, input));
}

TEST(Jwt, RoundTrip) {
  auto c = VerifyJwt(SignJwt(Claims(), kKey), kKey, 1500);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->uid, 1001u);
  EXPECT_EQ(c->issued_at, 1000);
  EXPECT_EQ(c->expires_at, 2800);
}

TEST(Jwt, ExpiredIsRefused) {
  auto c = VerifyJwt(SignJwt(Claims(), kKey), kKey, 2800);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(c.status().message(), "token expired");
}

TEST(Jwt, OtherKeyIsABadSignature) {
  auto c = VerifyJwt(SignJwt(Claims(), kKey), std::string(32, 'x'), 1500);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "bad token signature");
}

TEST(Jwt, TamperedPayloadOrSignatureIsRefused) {
  std::string t = SignJwt(Claims(), kKey);
  std::string evil = Base64UrlEncode(R"({"sun":"root","uid":0,"iat":1000,"exp":2800})");
  std::string forged = Part(t, 0) + "." + evil + "." + Part(t, 2);
  EXPECT_EQ(VerifyJwt(forged, kKey, 1500).status().message(), "bad token signature");
  std::string sig = Part(t, 2);
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(VerifyJwt(Part(t, 0) + "." + Part(t, 1) + "." + sig, kKey, 1500).status().message(),
            "bad token signature");
  EXPECT_FALSE(VerifyJwt(Part(t, 0) + "." + Part(t, 1) + ".", kKey, 1500).ok());
}

TEST(Jwt, OnlyHs256IsAccepted) {
  const std::string payload = R"({"sun":"root","uid":0,"exp":9999})";
  // "none" with an empty signature: the classic forgery.
  std::string none =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(payload) + ".";
  auto c = VerifyJwt(none, kKey, 1500);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(c.status().message().find("unsupported token algorithm 'none'"), std::string::npos);
  EXPECT_FALSE(VerifyJwt(Forge(R"({"alg":"HS512"})", payload), kKey, 1500).ok());
  EXPECT_FALSE(VerifyJwt(Forge(R"({"alg":"RS256"})", payload), kKey, 1500).ok());
  EXPECT_FALSE(VerifyJwt(Forge(R"({"typ":"JWT"})", payload), kKey, 1500).ok());
  EXPECT_TRUE(VerifyJwt(Forge(R"({"alg":"HS256"})", payload), kKey, 1500).ok());
}

TEST(Jwt, MalformedTokensNameTheProblem) {
  auto msg = [](std::string_view t) { return VerifyJwt(t, kKey, 1500).status().message(); };
  EXPECT_EQ(msg("abc"), "malformed token: a token has three dot-separated parts");
  EXPECT_EQ(msg("a.b.c.d"), "malformed token: a token has three dot-separated parts");
  EXPECT_EQ(msg("!!!.e30.sig"), "malformed token: bad base64url in the header");
  EXPECT_EQ(msg(Base64UrlEncode("not json") + ".e30.x"), "malformed token: the header is not JSON");
  std::string t = SignJwt(Claims(), kKey);
  EXPECT_EQ(msg(Part(t, 0) + "." + Part(t, 1) + ".***"),
            "malformed token: bad base64url in the signature");
}

TEST(Jwt, MissingClaimsAreRefused) {
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  auto msg = [&](const std::string& payload) {
    return VerifyJwt(Forge(h, payload), kKey, 1500).status().message();
  };
  EXPECT_EQ(msg(R"({"uid":1,"exp":9999})"), "malformed token: missing claim 'sun'");
  EXPECT_EQ(msg(R"({"sun":"a","exp":9999})"), "malformed token: missing or bad claim 'uid'");
  EXPECT_EQ(msg(R"({"sun":"a","uid":-1,"exp":9999})"),
            "malformed token: missing or bad claim 'uid'");
  EXPECT_EQ(msg(R"({"sun":"a","uid":1})"), "malformed token: missing or bad claim 'exp'");
  EXPECT_EQ(msg(R"({"sun":"a","uid":1,"exp":"soon"})"),
            "malformed token: missing or bad claim 'exp'");
  EXPECT_EQ(msg("[1]"), "malformed token: the payload is not JSON");
}

class JwtKey : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("jwt_key_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(JwtKey, CreatedWithMode0600AndReadBack) {
  const std::string path = dir_ / "jwt.key";
  auto key = LoadOrCreateJwtKey(path);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->size(), kMinJwtKeyBytes);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreateJwtKey(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *key);
}

TEST_F(JwtKey, OpenToOthersOrShortIsRefused) {
  const std::string path = dir_ / "jwt.key";
  ASSERT_TRUE(LoadOrCreateJwtKey(path).ok());
  chmod(path.c_str(), 0640);
  auto key = LoadOrCreateJwtKey(path);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("has mode 0640"), std::string::npos);
  const std::string short_path = dir_ / "short.key";
  std::ofstream(short_path) << "tiny";
  chmod(short_path.c_str(), 0600);
  EXPECT_FALSE(LoadOrCreateJwtKey(short_path).ok());
}

}  // namespace
}  // namespace shoal::security
