// Integration: the status page (/ui) in Debian's headless Chromium against a real cluster. The
// page, drawn by its own script from /status and /history, shows what `baton status --json`
// says (members, roles, states, the leader), the role changes and the drill `baton drill` kept
// in etcd; cluster text is shown as text, never run as HTML; a screenshot is taken; a member
// that dies shows as down.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class StatusPageTest : public ClusterSuite<StatusPageTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static CommandResult Baton(std::vector<std::string> args) {
    args.insert(args.begin(), BatonBinary());
    auto result = RunCommand(args, {}, seconds(120));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CommandResult{};
  }

  // The JSON document that starts at the first line opening with '{' or '['.
  static nlohmann::json JsonIn(const std::string& output) {
    size_t start = 0;
    while (start < output.size() && output[start] != '{' && output[start] != '[') {
      start = output.find('\n', start);
      if (start == std::string::npos) return nlohmann::json();
      ++start;
    }
    return nlohmann::json::parse(output.substr(start), nullptr, false);
  }

  // Headless Chromium on `url` with `args` (--dump-dom, --screenshot=...): the DOM after the
  // page's script ran for a few seconds of virtual time. Sandbox off: the tests run as root.
  static std::string Chromium(const std::string& url, std::vector<std::string> args) {
    char profile[] = "/tmp/baton-chromium.XXXXXX";
    EXPECT_NE(mkdtemp(profile), nullptr);
    std::vector<std::string> argv = {"/usr/bin/chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     std::string("--user-data-dir=") + profile,
                                     "--virtual-time-budget=4000"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    auto result = RunCommand(argv, {}, seconds(60));
    std::error_code ec;
    std::filesystem::remove_all(profile, ec);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return "";
    EXPECT_EQ(result->exit_code, 0) << result->output;
    const auto html = result->output.find("<html");
    return html == std::string::npos ? result->output : result->output.substr(html);
  }

  static httplib::Result Fetch(const LocalNode& node, const std::string& path) {
    httplib::Client client("127.0.0.1", node.api_port);
    client.set_connection_timeout(2);
    return client.Get(path.c_str());
  }

  static std::string PageUrl(size_t node) {
    return "http://127.0.0.1:" + std::to_string(cluster_->nodes[node].api_port) + "/ui";
  }

  // The row the page drew for a member, as its script sets the attributes.
  static std::string MemberRow(const nlohmann::json& m) {
    return "<tr data-member=\"" + m["name"].get<std::string>() + "\" data-role=\"" +
           m["role"].get<std::string>() + "\" data-state=\"" + m["state"].get<std::string>() +
           "\">";
  }
};

TEST_F(StatusPageTest, ThePageShowsWhatStatusSaysTheRoleChangesAndTheKeptDrill) {
  const std::string config = cluster_->nodes[0].config_path;
  // A drill whose fault command carries markup: the record keeps it, the page must show it as
  // text.
  const std::string command =
      BatonBinary() + " switchover -c " + config + " >/dev/null # <b id=\"injected\">markup</b>";
  const CommandResult drill = Baton({"drill", "-c", config, "--fault-command", command, "--rounds",
                                     "1", "--clients", "2", "--duration", "2"});
  ASSERT_EQ(drill.exit_code, 0) << drill.output;
  EXPECT_NE(drill.output.find("Recorded in cluster"), std::string::npos) << drill.output;

  const CommandResult history = Baton({"drill", "--history", "-c", config, "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.output;
  const nlohmann::json drills = JsonIn(history.output);
  ASSERT_TRUE(drills.is_array() && !drills.empty()) << history.output;
  EXPECT_EQ(drills.back()["fault"], command);
  EXPECT_EQ(drills.back()["summary"]["rounds_measured"], 1);
  EXPECT_EQ(drills.back()["summary"]["lost_rows"], 0) << "a switchover lost writes";
  const CommandResult table = Baton({"drill", "--history", "-c", config});
  EXPECT_NE(table.output.find("1/1"), std::string::npos) << table.output;

  ASSERT_TRUE(cluster_->WaitHealthy(seconds(60)).ok());
  // The page's members as `baton status --json` has them, once both settle on one view (a
  // replica's state may still move right after the switchover).
  nlohmann::json status;
  std::string dom;
  const bool agree = PollUntil(seconds(60), [&] {
    status = JsonIn(Baton({"status", "-c", config, "--json"}).output);
    dom = Chromium(PageUrl(1), {"--dump-dom"});
    if (!status.is_object() || status["members"].size() != 3) return false;
    for (const auto& m : status["members"]) {
      if (dom.find(MemberRow(m)) == std::string::npos) return false;
    }
    return dom.find("<strong id=\"leader\">" + status["leader"].get<std::string>() + "</strong>") !=
           std::string::npos;
  });
  ASSERT_TRUE(agree) << "status:\n" << status.dump(2) << "\npage:\n" << dom;
  EXPECT_NE(dom.find("data-ready=\"true\""), std::string::npos);
  EXPECT_NE(dom.find("<tr data-event=\"switchover\">"), std::string::npos)
      << "the drill's switchover is not among the role changes:\n"
      << dom;
  EXPECT_NE(
      dom.find("data-drill=\"" + std::to_string(std::min<size_t>(drills.size(), 20) - 1) + "\""),
      std::string::npos)
      << "no bar for the kept drill:\n"
      << dom;
  EXPECT_NE(dom.find("Last drill "), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b id=\"injected\">"), std::string::npos) << "cluster text ran as HTML";
  EXPECT_NE(dom.find("&lt;b id=\"injected\"&gt;markup&lt;/b&gt;"), std::string::npos) << dom;

  // The endpoints the page reads, directly.
  const auto page = Fetch(cluster_->nodes[2], "/ui");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body.find("src=\"http"), std::string::npos) << "the page loads something";
  const auto served = Fetch(cluster_->nodes[2], "/status");
  ASSERT_TRUE(served);
  const nlohmann::json status_api = nlohmann::json::parse(served->body, nullptr, false);
  ASSERT_TRUE(status_api.is_object()) << served->body;
  EXPECT_EQ(status_api["leader"], status["leader"]);
  EXPECT_EQ(status_api["members"].size(), status["members"].size());

  const std::string shot = cluster_->dir + "/ui.png";
  Chromium(PageUrl(0), {"--screenshot=" + shot, "--window-size=1280,1100"});
  const std::string png = ReadText(shot);
  ASSERT_GT(png.size(), 10000u) << "no screenshot (or a blank one) at " << shot;
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST_F(StatusPageTest, AMemberThatDiesShowsAsDown) {
  const size_t replica = (Leader() + 1) % 3;
  const std::string name = cluster_->nodes[replica].name;
  cluster_->KillNode(replica);
  const size_t viewer = (replica + 1) % 3;
  std::string dom;
  const bool shown = PollUntil(seconds(60), [&] {
    dom = Chromium(PageUrl(viewer), {"--dump-dom"});
    return dom.find("<tr data-member=\"" + name +
                    "\" data-role=\"unknown\" data-state=\"down\">") != std::string::npos;
  });
  EXPECT_TRUE(shown) << dom;
  EXPECT_NE(dom.find("Not every member runs: " + name + " down"), std::string::npos) << dom;
}

}  // namespace
}  // namespace baton
