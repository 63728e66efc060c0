// Test TLS files: a self-signed certificate made with the openssl CLI, for the suites that
// serve or call HTTPS on loopback.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/process.h"
#include "temp_dir.h"

namespace baton {

// The openssl CLI's path, or "" when it is not installed (scripts/deps.sh installs it).
inline std::string OpensslPath() {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/openssl";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs openssl with `args`; the test fails with its output when it exits non-zero.
inline void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {OpensslPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = RunCommand(argv, {}, std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->exit_code, 0) << result->output;
}

// A self-signed P-256 certificate for 127.0.0.1 in dir/cert.pem with its key in dir/key.pem.
inline void MakeSelfSignedCert(const TempDir& dir) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", dir.File("key.pem"), "-out", dir.File("cert.pem"), "-days", "2", "-subj",
           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
}

// Never skipped: scripts/deps.sh installs the openssl CLI, so its absence is a failure.
#define REQUIRE_OPENSSL_CLI()                                                   \
  if (OpensslPath().empty()) {                                                  \
    FAIL() << "the openssl CLI is not installed (scripts/deps.sh installs it)"; \
  }                                                                             \
  static_assert(true)

}  // namespace baton
