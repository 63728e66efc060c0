// Integration: fencing that does not depend on the agent loop, on real etcd and PostgreSQL with
// a 3 s lease. The primary's agent is SIGSTOPped or killed (its fencing watchdog must stop the
// server before another node is promoted), or the primary's PostgreSQL is SIGSTOPped (its agent
// must notice the silence, kill it and bring it back, never leaving two writable primaries).
// Each fault is checked with clients connected straight to the servers, as an application with
// a stale address would be.
#include <mutex>
#include <regex>

#include "harness.h"
#include "pg/fence_watchdog.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary
using std::chrono::milliseconds;

constexpr auto kRoundTrip = std::chrono::seconds(1);  // bound on every connect and query here
constexpr auto kPace = milliseconds(5);               // between one client's attempts

double SecondsBetween(TimePoint from, TimePoint to) {
  return Seconds(to - from);
}

// Writes one row after another to whichever of `servers` takes it, each over its own bounded
// connection (re-opened after it breaks), and notes when each write was acknowledged and when
// one failed. Runs on its own thread; the accessors are thread-safe.
class Writer {
 public:
  Writer(std::vector<std::string> servers, std::string table)
      : servers_(std::move(servers)), table_(std::move(table)) {}
  ~Writer() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked() const {
    std::lock_guard lock(mu_);
    return acks_.size();
  }
  std::optional<TimePoint> first_ack() const {
    std::lock_guard lock(mu_);
    if (acks_.empty()) return std::nullopt;
    return acks_.front();
  }
  std::optional<TimePoint> last_ack() const {
    std::lock_guard lock(mu_);
    if (acks_.empty()) return std::nullopt;
    return acks_.back();
  }
  std::optional<TimePoint> FirstErrorAfter(TimePoint t) const {
    std::lock_guard lock(mu_);
    for (TimePoint at : errors_) {
      if (at >= t) return at;
    }
    return std::nullopt;
  }

 private:
  void Loop() {
    std::vector<std::unique_ptr<PgConnection>> connections(servers_.size());
    while (!stop_) {
      for (size_t i = 0; i < servers_.size(); ++i) {
        Status written = Write(connections[i], servers_[i]);
        const TimePoint at = std::chrono::steady_clock::now();
        std::lock_guard lock(mu_);
        (written.ok() ? acks_ : errors_).push_back(at);
      }
      std::this_thread::sleep_for(kPace);  // pacing between attempts, not a wait
    }
  }

  Status Write(std::unique_ptr<PgConnection>& connection, const std::string& server) {
    if (!connection || !connection->healthy()) {
      auto connected = PgConnection::Connect(server, kRoundTrip);
      if (!connected.ok()) return connected.status();
      connection = std::move(connected).value();
    }
    return connection->Execute("INSERT INTO " + table_ + " DEFAULT VALUES");
  }

  const std::vector<std::string> servers_;
  const std::string table_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<TimePoint> acks_;
  std::vector<TimePoint> errors_;
};

// Asks every server, over and over, whether it takes writes, and keeps the largest number that
// did in one round (a stopped server answers nothing and does not count). Thread-safe.
class WritableWatch {
 public:
  explicit WritableWatch(std::vector<std::string> servers) : servers_(std::move(servers)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        int writable = 0;
        for (size_t i = 0; i < servers_.size(); ++i) {
          if (!Writable(servers_[i])) continue;
          ++writable;
          std::lock_guard lock(mu_);
          writable_at_[i].push_back(std::chrono::steady_clock::now());
        }
        most_ = std::max(most_.load(), writable);
        std::this_thread::sleep_for(milliseconds(20));  // sampling pace
      }
    });
  }
  ~WritableWatch() {
    stop_ = true;
    thread_.join();
  }
  int most() const { return most_; }
  // The first time server `i` answered as writable at or after `t`.
  std::optional<TimePoint> WritableAfter(size_t i, TimePoint t) const {
    std::lock_guard lock(mu_);
    auto found = writable_at_.find(i);
    if (found == writable_at_.end()) return std::nullopt;
    for (TimePoint at : found->second) {
      if (at >= t) return at;
    }
    return std::nullopt;
  }

 private:
  static bool Writable(const std::string& server) {
    auto connection = PgConnection::Connect(server, milliseconds(300));
    if (!connection.ok()) return false;
    auto rows = (*connection)->Query("SELECT pg_is_in_recovery()", milliseconds(300));
    return rows.ok() && rows->size() == 1 && rows->front()[0] == "f";
  }

  const std::vector<std::string> servers_;
  std::atomic<bool> stop_{false};
  std::atomic<int> most_{0};
  mutable std::mutex mu_;
  std::map<size_t, std::vector<TimePoint>> writable_at_;
  std::thread thread_;
};

class FencingTest : public ClusterSuite<FencingTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static std::vector<std::string> ConnsExcept(size_t skipped) {
    std::vector<std::string> out;
    for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
      if (i != skipped) out.push_back(Conn(i));
    }
    return out;
  }

  // Creates `table` on the leader and waits until every replica has it.
  static void CreateTable(size_t leader, const std::string& table) {
    ASSERT_TRUE(Query(Conn(leader), "CREATE TABLE " + table +
                                        " (id bigserial PRIMARY KEY,"
                                        " at timestamptz DEFAULT clock_timestamp())")
                    .ok());
    for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
      ASSERT_TRUE(PollUntil(seconds(30),
                            [&] {
                              return QueryOne(Conn(i), "SELECT to_regclass('" + table +
                                                           "') IS NOT NULL") == "t";
                            }))
          << cluster_->nodes[i].name << " never got " << table;
    }
  }

  static std::string AgentLog(size_t i) {
    std::ifstream in(cluster_->nodes[i].log_path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // From the watchdog's last "fenced postgres X s after the lease deadline" line in the log.
  static std::optional<double> WatchdogLateness(size_t i) {
    const std::string log = AgentLog(i);
    static const std::regex kFenced("fenced postgres ([0-9.]+) s after the lease deadline");
    std::optional<double> late;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), kFenced);
         it != std::sregex_iterator(); ++it) {
      late = std::stod((*it)[1].str());
    }
    return late;
  }

  // The old primary stops acknowledging writes before the new primary acknowledges its first:
  // no acknowledged write on the old one is later than the first on the new one.
  static void ExpectNoOverlap(const Writer& on_old, const Writer& on_new, TimePoint fault_at,
                              const std::string& what) {
    const auto old_last = on_old.last_ack();
    const auto new_first = on_new.first_ack();
    ASSERT_TRUE(old_last.has_value() && new_first.has_value());
    EXPECT_LT(*old_last, *new_first)
        << what << ": the old primary acknowledged a write "
        << SecondsBetween(*new_first, *old_last) << " s after the new primary's first";
    const auto stopped_answering = on_old.FirstErrorAfter(fault_at);
    std::cout << what << ": old primary's last acknowledged write "
              << SecondsBetween(fault_at, *old_last) << " s after the fault, first refused "
              << (stopped_answering ? SecondsBetween(fault_at, *stopped_answering) : -1)
              << " s; new primary's first write " << SecondsBetween(fault_at, *new_first)
              << " s; margin " << SecondsBetween(*old_last, *new_first) << " s\n";
  }
};

TEST_F(FencingTest, AStoppedAgentsPrimaryStopsTakingWritesBeforeAnotherIsPromoted) {
  const size_t old = Leader();
  const LocalNode& node = cluster_->nodes[old];
  CreateTable(old, "fenced_stopped_agent");
  Writer on_old({Conn(old)}, "fenced_stopped_agent");
  Writer on_others(ConnsExcept(old), "fenced_stopped_agent");
  on_old.Start();
  ASSERT_TRUE(PollUntil(seconds(10), [&] { return on_old.acked() >= 20; }));
  on_others.Start();

  ASSERT_EQ(kill(node.agent_pid, SIGSTOP), 0);
  const TimePoint stopped_at = std::chrono::steady_clock::now();
  auto leader = WaitForNewLeader(*cluster_, old, seconds(60));
  ASSERT_TRUE(leader.has_value()) << "no replica took over from the stopped agent";
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return on_others.first_ack().has_value(); }))
      << "the new primary took no write";
  on_old.Stop();
  on_others.Stop();
  ExpectNoOverlap(on_old, on_others, stopped_at, "agent SIGSTOPped");
  const auto late = WatchdogLateness(old);
  ASSERT_TRUE(late.has_value()) << "the watchdog did not fence";
  std::cout << "agent SIGSTOPped: the watchdog fenced " << *late << " s after the deadline\n";

  ASSERT_EQ(kill(node.agent_pid, SIGCONT), 0);
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << "the resumed node did not rejoin: " << healthy.ToString();
  EXPECT_EQ(QueryOne(Conn(old), "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(cluster_->LeaderIndex(), leader);
}

TEST_F(FencingTest, AKilledAgentsPrimaryIsFencedAtItsDeadlineAndTheNodeRejoinsAsAReplica) {
  const size_t old = Leader();
  LocalNode& node = cluster_->nodes[old];
  const pid_t postmaster = cluster_->PostmasterPid(old);
  const pid_t watchdog = FenceWatchdog::Find(node.data_dir);
  ASSERT_GT(watchdog, 0) << "the leader runs no fencing watchdog";
  CreateTable(old, "fenced_killed_agent");
  Writer on_old({Conn(old)}, "fenced_killed_agent");
  Writer on_others(ConnsExcept(old), "fenced_killed_agent");
  on_old.Start();
  ASSERT_TRUE(PollUntil(seconds(10), [&] { return on_old.acked() >= 20; }));
  on_others.Start();

  ASSERT_EQ(kill(node.agent_pid, SIGKILL), 0);  // the agent only
  const TimePoint killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitForExit(node.agent_pid, seconds(10)));
  // Its deadline (TTL 3 s - 0.75 s after the last renewal, sent before the kill) has passed
  // within 2.25 s of it.
  ASSERT_TRUE(PollUntil(seconds(4), [&] { return !ProcessAlive(postmaster); }))
      << "postgres outlived its dead agent's lease deadline";
  const TimePoint fenced_seen = std::chrono::steady_clock::now();
  auto leader = WaitForNewLeader(*cluster_, old, seconds(60));
  ASSERT_TRUE(leader.has_value()) << "no replica took over";
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return on_others.first_ack().has_value(); }));
  on_old.Stop();
  on_others.Stop();
  ExpectNoOverlap(on_old, on_others, killed_at, "agent killed");
  const auto late = WatchdogLateness(old);
  ASSERT_TRUE(late.has_value()) << "no fencing line from the watchdog";
  std::cout << "agent killed: postgres seen gone " << SecondsBetween(killed_at, fenced_seen)
            << " s after the kill; the watchdog fenced " << *late << " s after the deadline\n";
  // With the agent gone and its deadline enforced, the watchdog has nothing left to do.
  EXPECT_TRUE(WaitForExit(watchdog, seconds(5))) << "the orphaned watchdog did not exit";

  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << "the restarted node did not rejoin: " << healthy.ToString();
  EXPECT_EQ(QueryOne(Conn(old), "SELECT pg_is_in_recovery()"), "t");
}

TEST_F(FencingTest, AStoppedPostgresIsKilledByItsAgentAndNeverLeavesTwoWritablePrimaries) {
  const size_t old = Leader();
  const pid_t postmaster = cluster_->PostmasterPid(old);
  const std::vector<pid_t> frozen = ProcessTree(postmaster);
  ASSERT_GT(frozen.size(), 1u);
  std::vector<std::string> every_node;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) every_node.push_back(Conn(i));
  WritableWatch watch(every_node);

  for (pid_t pid : frozen) kill(pid, SIGSTOP);
  const TimePoint stopped_at = std::chrono::steady_clock::now();
  const auto ttl = seconds(ShortLeaseOptions().ttl_seconds);
  // Held longer than the TTL; meanwhile its agent, still renewing the key, kills the silent
  // server (the stopped postmaster dies only by SIGKILL).
  std::optional<TimePoint> killed_at;
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    if (!killed_at && !ProcessAlive(postmaster)) killed_at = std::chrono::steady_clock::now();
    return killed_at && std::chrono::steady_clock::now() - stopped_at > ttl + seconds(1);
  })) << "the stopped postgres was never killed";
  for (pid_t pid : frozen) {
    if (ProcessAlive(pid)) kill(pid, SIGCONT);
  }

  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
  EXPECT_LE(watch.most(), 1) << "two servers took writes at the same time";
  EXPECT_EQ(cluster_->LeaderIndex(), old) << "expected a restart in place, not a failover";
  EXPECT_NE(AgentLog(old).find("has not answered for"), std::string::npos);
  const auto writable_again = watch.WritableAfter(old, *killed_at);
  ASSERT_TRUE(writable_again.has_value());
  std::cout << "postgres SIGSTOPped: killed by its agent " << SecondsBetween(stopped_at, *killed_at)
            << " s after the stop, writable again " << SecondsBetween(stopped_at, *writable_again)
            << " s after it; at most " << watch.most() << " writable server(s) at any sample\n";
}

TEST_F(FencingTest, AQueryPastItsTimeoutReturnsTimeoutAndDropsTheConnection) {
  auto connection = PgConnection::Connect(Conn(Leader()), milliseconds(500));
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  const TimePoint started = std::chrono::steady_clock::now();
  auto rows = (*connection)->Query("SELECT pg_sleep(3)");
  EXPECT_EQ(rows.status().code(), StatusCode::kTimeout) << rows.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(2));
  EXPECT_FALSE((*connection)->healthy());
  auto fresh = PgConnection::Connect(Conn(Leader()), milliseconds(500));
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE((*fresh)->Query("SELECT 1").ok());
}

}  // namespace
}  // namespace baton
