// Config: one node's settings, read from a YAML file with BATON_<SECTION>_<KEY> environment
// overrides, validated as a whole.
//
// Every key has one entry in a schema (config.cc) that gives its YAML path, its environment
// variable, its default and its check; parsing, overrides, validation and `baton config check`
// all go through that one table. A bad file is refused with the file, the key and what is wrong.
// Config is a plain value; copies are independent and thread-safe to read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace baton {

struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;
  static Result<HostPort> Parse(const std::string& text);
  // The host:port of a URL ("http://h:p", "https://h:p/path") or of a bare "h:p".
  static Result<HostPort> ParseUrl(const std::string& url);
};

// A comma-separated list of etcd endpoints ("host:port" or "http://host:port") as host:port
// each; InvalidArgument for an empty list, a bad item or https:// (TLS to etcd is not supported).
Status ParseEtcdEndpoints(const std::string& raw, std::vector<std::string>* out);

struct Credentials {
  std::string username;
  std::string password;
};

struct Timing {
  int ttl_seconds = 10;                         // leader lease TTL; etcd's minimum is 2
  double loop_wait_seconds = 1.0;               // agent loop period when nothing wakes it earlier
  double retry_timeout_seconds = 3.0;           // how long one etcd call may take
  double primary_start_timeout_seconds = 30.0;  // restart-in-place budget for a dead primary
  uint64_t maximum_lag_on_failover = 1 << 20;   // bytes behind the leader still promotable
};

// Who may call the REST API's admin verbs, and its TLS identity. Empty = not configured.
struct ApiSecurity {
  std::string token;      // Authorization: Bearer <token>
  Credentials basic;      // Authorization: Basic (username and password)
  std::string cert_file;  // PEM certificate; with key_file the API serves HTTPS
  std::string key_file;   // PEM private key
  bool AuthConfigured() const { return !token.empty() || !basic.username.empty(); }
  bool TlsConfigured() const { return !cert_file.empty(); }
};

// Commands run on agent events (see docs/configuration.md#hooks). Empty = none.
struct Hooks {
  std::string on_start;        // the agent started
  std::string on_stop;         // the agent is stopping
  std::string on_role_change;  // this node's PostgreSQL changed role
  std::string on_failover;     // this node was promoted to replace a lost or departing leader
  std::string on_alert;        // an alert event (BATON_ALERT holds its JSON; see AlertSettings)
  // Run synchronously before a promotion, each bounded by `timeout_seconds` and by the lease:
  std::string pre_promote;    // a non-zero exit aborts the promotion and gives the key up
  std::string fence_command;  // fences the old leader (STONITH) before a failover; must succeed
  double timeout_seconds = 30;
};

// Where alert events go besides hooks.on_alert: a JSON POST to a webhook, retried with backoff
// (docs/monitoring.md#alerts-without-prometheus). Empty webhook = none.
struct AlertSettings {
  std::string webhook;         // http(s)://host[:port]/path, checked by HttpUrl::Parse
  double timeout_seconds = 5;  // one delivery attempt: connect, send, answer
  int retries = 3;             // further attempts after a failed one
  std::string ca_file;         // PEM CA bundle for an https webhook (default: the system's)
  bool Configured() const { return !webhook.empty(); }
};

// How the leader replicates: `off` acknowledges commits once they are local (asynchronous);
// `on` waits for `synchronous_node_count` chosen standbys (FIRST k); `quorum` waits for any
// `synchronous_node_count` of every streaming standby (ANY k). See docs/safety.md.
enum class SyncMode { kOff, kOn, kQuorum };
const char* SyncModeName(SyncMode mode);

// Cluster-wide HA policy (settable with `baton config set`).
struct HaPolicy {
  SyncMode synchronous_mode = SyncMode::kOff;
  int synchronous_node_count = 1;
  // Never acknowledge a commit without the synchronous standbys: with too few of them, writes
  // wait instead of falling back to asynchronous replication.
  bool synchronous_mode_strict = false;
  // With etcd unreachable from every member, the primary keeps running while every member
  // answers that it sees no other leader (docs/safety.md#failsafe-mode).
  bool failsafe_mode = false;
  // Asynchronous mode: replicas take over at once from a leader whose node refuses connections
  // to both its PostgreSQL and its agent (docs/safety.md#early-takeover-in-asynchronous-mode).
  // Off where a firewall may answer those ports with forged TCP resets.
  bool early_takeover = true;
};

struct Tags {
  bool nofailover = false;
  int priority = 1;
};

// The client router (docs/router.md): `baton router`, or run inside the agent when a node's
// file sets router.read_write.
struct RouterSettings {
  HostPort read_write;               // port 0 = no router
  HostPort read_only;                // port 0 = no read-only port
  double hold_timeout_seconds = 10;  // how long a new connection waits for a backend
  uint64_t maximum_lag = 1 << 20;    // bytes a replica may lag and still take reads
  bool Configured() const { return read_write.port != 0; }
};

// A PgBouncer that baton keeps pointed at the leader (docs/router.md#pgbouncer). Empty admin
// address = none.
struct PgBouncerSettings {
  HostPort admin;              // where PgBouncer listens (its admin console: dbname pgbouncer)
  Credentials admin_user;      // a user in its admin_users
  std::string database;        // the [databases] entry baton manages
  std::string dbname;          // the database it names on the leader (default: `database`)
  std::string databases_file;  // the file with that entry, which pgbouncer.ini %includes
  bool Configured() const { return admin.port != 0; }
};

struct Config {
  std::string source;  // file name, for messages
  std::string cluster_name;
  std::string node_name;
  std::vector<std::string> etcd_endpoints;  // host:port each
  std::string data_dir;
  std::string bin_dir;
  std::string socket_dir;
  HostPort pg_listen;
  HostPort pg_connect;
  Credentials superuser;
  Credentials replication;
  std::map<std::string, std::string> pg_parameters;
  HostPort api_listen;
  HostPort api_connect;
  ApiSecurity api_security;
  Timing timing;
  HaPolicy ha;
  Tags tags;
  Hooks hooks;
  AlertSettings alerts;
  RouterSettings router;
  PgBouncerSettings pgbouncer;

  // http(s)://host:port of this node's REST API.
  std::string ApiUrl() const {
    return (api_security.TlsConfigured() ? "https://" : "http://") + api_connect.ToString();
  }
};

// Environment variables as name -> value (injected so tests need not touch the process's).
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();

// What a file configures: a node (its agent), or a router only (`baton router`: cluster.name,
// etcd.endpoints and router.read_write or a pgbouncer section are required, a node's keys
// are not).
enum class ConfigScope { kNode, kRouter };

// Parses YAML text. `source` names the file in error messages.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                           const Environment& env, ConfigScope scope = ConfigScope::kNode);
// Reads and parses a file; a missing or unreadable file is an InvalidArgument naming it.
Result<Config> LoadConfigFile(const std::string& path, const Environment& env,
                              ConfigScope scope = ConfigScope::kNode);

// Dynamic configuration: the cluster-wide settings stored in etcd (`baton config set`), as
// key path -> text, e.g. {"timing.ttl": "5", "postgresql.parameters.work_mem": "8MB"}. They
// override each node's file. Only timing.ttl, timing.loop_wait, timing.primary_start_timeout,
// timing.maximum_lag_on_failover, ha.* and postgresql.parameters.<name> may be set this way.
using DynamicSettings = std::map<std::string, std::string>;
bool IsDynamicKey(const std::string& path);
// `local` with `settings` applied; InvalidArgument naming the key when one is not allowed or
// not valid. An empty value for a PostgreSQL parameter removes it.
Result<Config> ApplyDynamicConfig(const Config& local, const DynamicSettings& settings);

// One documented key, for `baton config keys` and docs.
struct ConfigKeyInfo {
  std::string path;
  std::string env;
  std::string default_value;  // empty when required
  bool required;
  std::string help;
};
std::vector<ConfigKeyInfo> ConfigKeys();

}  // namespace baton
