#include "agent/join.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shoal::agent {
namespace {

const std::string kHash(64, 'a');

TEST(JoinTest, ParsesAToken) {
  Result<JoinToken> t = ParseJoinToken("abc123.0123456789abcdef." + kHash + "\n");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->id, "abc123");
  EXPECT_EQ(t->secret, "0123456789abcdef");
  EXPECT_EQ(t->ca_sha256, kHash);
  // kubeadm's spelling of the hash, and upper-case hex, are the same pin.
  EXPECT_EQ(ParseJoinToken("abc123.0123456789abcdef.sha256:" + std::string(64, 'A'))->ca_sha256,
            kHash);
}

TEST(JoinTest, RefusesMalformedTokensWithoutEchoingThem) {
  for (const std::string& bad : std::vector<std::string>{
           "garbage", "abc123.0123456789abcdef", "abc12.0123456789abcdef." + kHash,
           "ABC123.0123456789abcdef." + kHash, "abc123.0123456789abcde!." + kHash,
           "abc123.0123456789abcdef." + kHash.substr(1),
           "abc123.0123456789abcdef.zz" + kHash.substr(2),
           "abc123.0123456789abcdef." + kHash + ".x"}) {
    Result<JoinToken> t = ParseJoinToken(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find("expected ID.SECRET.CAHASH"), std::string::npos);
    EXPECT_EQ(t.status().message().find("0123456789abcde"), std::string::npos);
  }
}

TEST(JoinTest, AgentConfNamesWhatTheAgentNeeds) {
  JoinPaths p = JoinPathsIn("/etc/shoal");
  EXPECT_EQ(p.ca, "/etc/shoal/agent/ca.pem");
  EXPECT_EQ(p.cluster_key, "/etc/shoal/agent/cluster.key");
  EXPECT_EQ(p.agent_conf, "/etc/shoal/agent.conf");
  std::string conf = AgentConfText("ctl:6817", "node1", "/var/lib/shoal/agent", p);
  for (const char* line :
       {"\ncontroller=ctl:6817\n", "\nname=node1\n", "\nstate-dir=/var/lib/shoal/agent\n",
        "\ntls-ca=/etc/shoal/agent/ca.pem\n",
        "\ncluster-key-file=/etc/shoal/agent/cluster.key\n"}) {
    EXPECT_NE(conf.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace shoal::agent
