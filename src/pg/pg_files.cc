#include "pg/pg_files.h"

#include <fmt/format.h>

#include <regex>
#include <sstream>

#include "pg/pg_connection.h"

namespace baton {

namespace {

// A value as a postgresql.conf string literal.
std::string ConfQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Settings baton needs for streaming replication and pg_rewind; the config may override them.
const std::map<std::string, std::string>& BaselineParameters() {
  static const std::map<std::string, std::string> baseline = {
      {"wal_level", "replica"},
      {"hot_standby", "on"},
      {"max_wal_senders", "10"},
      {"max_replication_slots", "10"},
      {"wal_keep_size", "'256MB'"},
      {"wal_log_hints", "on"},
      {"hot_standby_feedback", "on"},
      {"password_encryption", "'scram-sha-256'"},
      {"max_connections", "100"},
      {"shared_buffers", "'128MB'"},
      {"wal_receiver_status_interval", "'1s'"},
      {"wal_retrieve_retry_interval", "'1s'"},
  };
  return baseline;
}

bool NeedsQuoting(const std::string& value) {
  if (value.empty()) return true;
  if (value.front() == '\'') return false;
  for (char c : value) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return true;
    }
  }
  return false;
}

constexpr const char* kBatonMarker = "# managed by baton";

}  // namespace

std::string RenderPostgresqlConf(const Config& config,
                                 const std::string& synchronous_standby_names) {
  std::map<std::string, std::string> params = BaselineParameters();
  // A replica gives up on a silent upstream (dead, frozen, cut off) after half the lease TTL,
  // so its agent can check the leader's node and, in synchronous mode, detach early.
  params["wal_receiver_timeout"] = fmt::format("'{}ms'", config.timing.ttl_seconds * 500);
  for (const auto& [name, value] : config.pg_parameters) {
    params[name] = NeedsQuoting(value) ? ConfQuote(value) : value;
  }
  std::ostringstream out;
  out << "# Written by baton before every start; change the node's baton config instead.\n";
  out << "listen_addresses = " << ConfQuote(config.pg_listen.host) << "\n";
  out << "port = " << config.pg_listen.port << "\n";
  out << "unix_socket_directories = " << ConfQuote(config.socket_dir) << "\n";
  out << "cluster_name = " << ConfQuote(config.cluster_name + "/" + config.node_name) << "\n";
  for (const auto& [name, value] : params) out << name << " = " << value << "\n";
  out << "synchronous_standby_names = " << ConfQuote(synchronous_standby_names) << "\n";
  return out.str();
}

std::string SynchronousStandbyNamesIn(const std::string& conf) {
  static const std::regex setting(R"(^\s*synchronous_standby_names\s*=\s*'((?:[^']|'')*)'\s*$)");
  std::istringstream in(conf);
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, setting)) continue;
    found = std::regex_replace(m[1].str(), std::regex("''"), "'");
  }
  return found;
}

std::string RenderPgHba(const Config& config) {
  std::ostringstream out;
  out << "# Written by baton before every start.\n";
  out << "local   all          all                          peer\n";
  out << fmt::format("host    replication  {:<12} 0.0.0.0/0       scram-sha-256\n",
                     config.replication.username);
  out << fmt::format("host    replication  {:<12} ::/0            scram-sha-256\n",
                     config.replication.username);
  out << "host    all          all          0.0.0.0/0       scram-sha-256\n";
  out << "host    all          all          ::/0            scram-sha-256\n";
  return out.str();
}

std::string RewriteAutoConf(const std::string& existing, const Config& config,
                            const std::optional<Upstream>& upstream) {
  std::istringstream in(existing);
  std::ostringstream out;
  std::string line;
  // recovery_target_timeline is no longer written ('latest' is PostgreSQL's default; writing it
  // made a promoted primary report it pending a restart), but old lines are still removed.
  static const std::regex ours(R"(^\s*(primary_conninfo|recovery_target_timeline)\s*=)");
  while (std::getline(in, line)) {
    if (std::regex_search(line, ours) || line == kBatonMarker) continue;
    out << line << "\n";
  }
  if (upstream) {
    const std::string conninfo = ConnInfo({{"host", upstream->address.host},
                                           {"port", std::to_string(upstream->address.port)},
                                           {"user", config.replication.username},
                                           {"password", config.replication.password},
                                           {"application_name", config.node_name},
                                           {"connect_timeout", "2"},
                                           {"keepalives_idle", "2"},
                                           {"keepalives_interval", "1"},
                                           {"keepalives_count", "3"}});
    out << kBatonMarker << "\n";
    out << "primary_conninfo = " << ConfQuote(conninfo) << "\n";
  }
  return out.str();
}

std::string UpstreamInAutoConf(const std::string& auto_conf) {
  static const std::regex conninfo(R"(^\s*primary_conninfo\s*=\s*'(.*)'\s*$)");
  static const std::regex host(R"(host=''([^']*)'')");
  static const std::regex port(R"(port=''([0-9]+)'')");
  std::istringstream in(auto_conf);
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, conninfo)) continue;
    const std::string value = m[1];
    std::smatch h, p;
    if (std::regex_search(value, h, host) && std::regex_search(value, p, port)) {
      found = h[1].str() + ":" + p[1].str();
    }
  }
  return found;
}

}  // namespace baton
