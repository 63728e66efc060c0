// PgBouncerControl with a recording admin console: a due switchover pauses the entry before the
// leader stops; the new writer gets the entry rewritten, RELOAD, then RESUME; a switchover that
// ends with the same writer just resumes; a lost writer pauses clients until the next one.
#include "router/pgbouncer_control.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "temp_dir.h"

namespace baton {
namespace {

class PgBouncerControlTest : public ::testing::Test {
 protected:
  PgBouncerControlTest()
      : control_(Settings(), [this](const std::string& command) {
          commands_.push_back(command);
          return Status::Ok();
        }) {}

  PgBouncerSettings Settings() const {
    PgBouncerSettings s;
    s.admin = {"127.0.0.1", 6432};
    s.database = "app";
    s.dbname = "appdb";
    s.databases_file = dir_.File("databases.ini");
    return s;
  }
  std::string DatabasesFile() const {
    std::ifstream in(dir_.File("databases.ini"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static Routes WriterIs(const std::string& name, int port) {
    Backend b{name, {"127.0.0.1", port}};
    return {b, {b}};
  }
  static ClusterView SwitchoverPending(const std::string& leader) {
    ClusterView view;
    view.leader = LeaderKey{leader, 1, 1};
    view.switchover = SwitchoverRequest{};
    view.switchover->from = leader;
    return view;
  }

  TempDir dir_;
  std::vector<std::string> commands_;
  PgBouncerControl control_;
};

TEST_F(PgBouncerControlTest, ASwitchoverPausesFirstThenRepointsReloadsAndResumes) {
  ClusterView steady;
  steady.leader = LeaderKey{"node1", 1, 1};
  control_.OnRoutes(WriterIs("node1", 5401), &steady);
  EXPECT_EQ(commands_, (std::vector<std::string>{"RELOAD", "RESUME app"}));
  EXPECT_NE(DatabasesFile().find("app = host=127.0.0.1 port=5401 dbname=appdb"), std::string::npos)
      << DatabasesFile();
  commands_.clear();

  const ClusterView pending = SwitchoverPending("node1");
  control_.OnRoutes(WriterIs("node1", 5401), &pending);
  EXPECT_EQ(commands_, (std::vector<std::string>{"PAUSE app"}));
  control_.OnRoutes(WriterIs("node1", 5401), &pending);  // the leader has not stopped yet
  control_.OnRoutes(Routes{}, &pending);                 // stopped, the key moves
  EXPECT_EQ(commands_.size(), 1u);
  control_.OnRoutes(WriterIs("node2", 5402), &pending);  // promoted
  EXPECT_EQ(commands_, (std::vector<std::string>{"PAUSE app", "RELOAD", "RESUME app"}));
  EXPECT_NE(DatabasesFile().find("port=5402"), std::string::npos);
  EXPECT_FALSE(control_.paused());
}

TEST_F(PgBouncerControlTest, ARefusedSwitchoverResumesWithTheSameWriter) {
  ClusterView steady;
  steady.leader = LeaderKey{"node1", 1, 1};
  control_.OnRoutes(WriterIs("node1", 5401), &steady);
  const ClusterView pending = SwitchoverPending("node1");
  control_.OnRoutes(WriterIs("node1", 5401), &pending);
  commands_.clear();
  control_.OnRoutes(WriterIs("node1", 5401), &steady);  // the request ended
  EXPECT_EQ(commands_, (std::vector<std::string>{"RESUME app"}));
}

TEST_F(PgBouncerControlTest, AScheduledSwitchoverDoesNotPauseBeforeItsTime) {
  ClusterView steady;
  steady.leader = LeaderKey{"node1", 1, 1};
  control_.OnRoutes(WriterIs("node1", 5401), &steady);
  commands_.clear();
  ClusterView later = SwitchoverPending("node1");
  later.switchover->at_unix = 4102444800;  // 2100
  control_.OnRoutes(WriterIs("node1", 5401), &later);
  EXPECT_TRUE(commands_.empty());
}

TEST_F(PgBouncerControlTest, ALostWriterPausesClientsUntilTheNextOne) {
  ClusterView steady;
  steady.leader = LeaderKey{"node1", 1, 1};
  control_.OnRoutes(WriterIs("node1", 5401), &steady);
  commands_.clear();
  control_.OnRoutes(Routes{}, nullptr);
  control_.OnRoutes(Routes{}, nullptr);
  EXPECT_EQ(commands_, (std::vector<std::string>{"PAUSE app"}));
  control_.OnRoutes(WriterIs("node3", 5403), &steady);
  EXPECT_EQ(commands_, (std::vector<std::string>{"PAUSE app", "RELOAD", "RESUME app"}));
}

}  // namespace
}  // namespace baton
