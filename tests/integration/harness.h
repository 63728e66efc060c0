// Shared pieces of the integration suites: a LocalCluster per suite in a fresh temp dir,
// polling with deadlines, SQL and HTTP probes. Everything here talks to real processes.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "drill/write_load.h"
#include "lab/local_cluster.h"
#include "pg/pg_connection.h"

namespace baton::testing {

using std::chrono::seconds;

inline std::string BatonBinary() {
  const char* env = getenv("BATON_BINARY");
  return env ? env : BATON_BINARY;
}

// Polls `condition` every 100 ms until it holds or `timeout` passes.
template <typename Condition>
bool PollUntil(Duration timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// A file's whole text ("" when it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A file under docs/examples; the unprivileged wrapper passes a copy the test user can read.
inline std::string Example(const std::string& path) {
  const char* examples = getenv("BATON_EXAMPLES_DIR");
  return std::string(examples ? examples : BATON_SOURCE_DIR "/docs/examples") + "/" + path;
}

inline Result<std::vector<PgRow>> Query(const std::string& conninfo, const std::string& sql) {
  auto conn = PgConnection::Connect(conninfo);
  if (!conn.ok()) return conn.status();
  return (*conn)->Query(sql);
}

inline std::optional<std::string> QueryOne(const std::string& conninfo, const std::string& sql) {
  auto rows = Query(conninfo, sql);
  if (!rows.ok() || rows->empty() || rows->front().empty()) return std::nullopt;
  return rows->front().front();
}

inline int HttpStatus(const LocalNode& node, const std::string& path) {
  httplib::Client client("127.0.0.1", node.api_port);
  client.set_connection_timeout(2);
  auto res = client.Get(path.c_str());
  return res ? res->status : -1;
}

inline ClusterView LoadView(const LocalCluster& cluster) {
  auto view = cluster.View();
  return view.ok() ? *view : ClusterView{};
}

// A multi-host DSN over every node that connects to whichever is writable.
inline std::string ClusterDsn(const LocalCluster& cluster) {
  std::vector<std::pair<std::string, int>> hosts;
  for (const auto& n : cluster.nodes) hosts.emplace_back("127.0.0.1", n.pg_port);
  return MultiHostDsn(hosts, "postgres", LocalCluster::kSuperuserPassword);
}

// Waits for a leader other than `old` that runs as primary.
inline std::optional<size_t> WaitForNewLeader(const LocalCluster& cluster, size_t old,
                                              Duration timeout) {
  std::optional<size_t> found;
  PollUntil(timeout, [&] {
    auto leader = cluster.LeaderIndex();
    if (leader && *leader != old &&
        QueryOne(cluster.ConnInfo(*leader), "SELECT pg_is_in_recovery()") == "f") {
      found = leader;
    }
    return found.has_value();
  });
  return found;
}

// A copy of PostgreSQL's bin directory in which `tool` always fails: how a test makes a real
// server fail to start or a real pg_rewind fail, without any test hook in baton.
inline std::string BinDirWithBroken(const std::string& tool, const std::string& where) {
  namespace fs = std::filesystem;
  const std::string dir = where + "/bin-without-" + tool;
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql/15/bin")) {
    const fs::path link = dir + "/" + entry.path().filename().string();
    if (entry.path().filename() == tool || fs::exists(link)) continue;
    fs::create_symlink(entry.path(), link);
  }
  const std::string broken = dir + "/" + tool;
  std::ofstream(broken) << "#!/bin/sh\necho \"" << tool << " disabled by the test\" >&2\nexit 1\n";
  fs::permissions(broken, fs::perms::owner_all);
  return dir;
}

// A 3 s lease and a 0.5 s loop: failovers in seconds, for the suites that cause them.
inline LocalClusterOptions ShortLeaseOptions() {
  LocalClusterOptions options;
  options.ttl_seconds = 3;
  options.loop_wait_seconds = 0.5;
  options.retry_timeout_seconds = 1;
  return options;
}

// One cluster per suite, in a fresh temp dir; kept for inspection when a test failed.
class SuiteCluster {
 public:
  static std::unique_ptr<LocalCluster> Start(LocalClusterOptions options) {
    char pattern[] = "/tmp/baton-it.XXXXXX";
    if (mkdtemp(pattern) == nullptr) return nullptr;
    options.dir = std::string(pattern) + "/cluster";
    options.baton_binary = BatonBinary();
    auto started = LocalCluster::Start(options);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return nullptr;
    auto cluster = std::make_unique<LocalCluster>(std::move(started).value());
    Status healthy = cluster->WaitHealthy(seconds(120));
    EXPECT_TRUE(healthy.ok()) << healthy.ToString();
    return cluster;
  }

  static void Stop(std::unique_ptr<LocalCluster>& cluster) {
    if (!cluster) return;
    (void)cluster->Stop();
    const auto root = std::filesystem::path(cluster->dir).parent_path();
    if (::testing::UnitTest::GetInstance()->Passed()) {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    } else {
      std::cerr << "keeping " << root
                << " for inspection (agent logs in cluster/node*/agent.log)\n";
    }
    cluster.reset();
  }
};

// The base of a suite whose tests share one cluster, started once with Suite::Options() (a
// static function of the suite); every test begins from a healthy cluster. CRTP, so that each
// suite has a cluster of its own.
template <typename Suite>
class ClusterSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = SuiteCluster::Start(Suite::Options()); }
  static void TearDownTestSuite() { SuiteCluster::Stop(cluster_); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the cluster did not start";
    Status healthy = cluster_->WaitHealthy(seconds(120));
    ASSERT_TRUE(healthy.ok()) << "precondition: " << healthy.ToString();
  }

  static size_t Leader() {
    auto leader = cluster_->LeaderIndex();
    EXPECT_TRUE(leader.has_value()) << "no leader";
    return leader.value_or(0);
  }

  static std::string Conn(size_t i) { return cluster_->ConnInfo(i); }

  static inline std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace baton::testing
