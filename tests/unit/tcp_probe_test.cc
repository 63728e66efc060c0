// ProbeTcp on loopback: a listening port connects, a closed one is refused (the kernel's reset),
// and a port behind an ICMP REJECT rule reads as silent, not refused (it proves nothing about
// the processes behind it). The REJECT case needs root for iptables, as the chaos tier does.
#include "core/tcp_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/process.h"
#include "loopback_socket.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TcpProbeTest, AListeningPortConnectsAndAClosedOneIsRefused) {
  LoopbackSocket listening(true);
  LoopbackSocket closed(false);  // bound, not listening: the kernel answers with a reset
  EXPECT_EQ(ProbeTcp("127.0.0.1", listening.port(), seconds(1)), TcpAnswer::kConnected);
  EXPECT_EQ(ProbeTcp("127.0.0.1", closed.port(), seconds(1)), TcpAnswer::kRefused);
  EXPECT_EQ(ProbeTcp("no-such-host.invalid", closed.port(), milliseconds(200)), TcpAnswer::kSilent);
}

TEST(TcpProbeTest, APortBehindAnIcmpRejectIsSilentNotRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for iptables (runs in ./run test as root)";
  LoopbackSocket closed(false);
  const std::string port = std::to_string(closed.port());
  const std::vector<std::string> rule = {"-p",      "tcp", "-d", "127.0.0.1",
                                         "--dport", port,  "-j", "REJECT"};
  auto iptables = [&](const std::string& op) {
    std::vector<std::string> argv = {"/usr/sbin/iptables", op, "INPUT"};
    argv.insert(argv.end(), rule.begin(), rule.end());
    auto run = RunCommand(argv, {}, seconds(10));
    return run.ok() && run->exit_code == 0;
  };
  ASSERT_TRUE(iptables("-I"));
  const TcpAnswer answer = ProbeTcp("127.0.0.1", closed.port(), seconds(1));
  ASSERT_TRUE(iptables("-D"));
  EXPECT_EQ(answer, TcpAnswer::kSilent) << "an ICMP port-unreachable counted as a refusal";
  EXPECT_EQ(ProbeTcp("127.0.0.1", closed.port(), seconds(1)), TcpAnswer::kRefused);
}

}  // namespace
}  // namespace baton
