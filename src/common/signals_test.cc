#include "common/signals.h"

#include <gtest/gtest.h>

#include <csignal>

namespace shoal {
namespace {

TEST(ParseSignalTest, NamesAndNumbers) {
  EXPECT_EQ(ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("term"), SIGTERM);
  EXPECT_EQ(ParseSignal("sigTerm"), SIGTERM);
  EXPECT_EQ(ParseSignal("15"), 15);
  EXPECT_EQ(ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(ParseSignal("USR1"), SIGUSR1);
  EXPECT_EQ(ParseSignal("SIGUSR2"), SIGUSR2);
  EXPECT_EQ(ParseSignal("HUP"), SIGHUP);
  EXPECT_EQ(ParseSignal("INT"), SIGINT);
  EXPECT_EQ(ParseSignal("CONT"), SIGCONT);
  EXPECT_EQ(ParseSignal("STOP"), SIGSTOP);
  EXPECT_EQ(ParseSignal("IOT"), SIGABRT);
  EXPECT_EQ(ParseSignal("1"), 1);
  EXPECT_EQ(ParseSignal("64"), 64);
}

TEST(ParseSignalTest, RejectsUnknown) {
  for (const char* s :
       {"", "SIG", "FOO", "SIGFOO", "0", "65", "-9", "+9", "9x", " TERM", "99999999999999999999"}) {
    EXPECT_EQ(ParseSignal(s), std::nullopt) << s;
  }
}

TEST(SignalNameTest, CanonicalNames) {
  EXPECT_EQ(SignalName(SIGTERM), "TERM");
  EXPECT_EQ(SignalName(SIGKILL), "KILL");
  EXPECT_EQ(SignalName(SIGABRT), "ABRT");  // not the IOT alias
  EXPECT_EQ(SignalName(SIGCHLD), "CHLD");
  EXPECT_EQ(SignalName(0), "0");
  EXPECT_EQ(SignalName(40), "40");
}

TEST(SignalNameTest, RoundTrips) {
  for (int sig = 1; sig <= 64; ++sig) EXPECT_EQ(ParseSignal(SignalName(sig)), sig) << sig;
}

}  // namespace
}  // namespace shoal
