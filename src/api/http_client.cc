#include "api/http_client.h"

namespace baton {

std::unique_ptr<httplib::Client> MakeHttpClient(const std::string& origin, Duration timeout) {
  auto client = std::make_unique<httplib::Client>(origin);
  const double seconds = Seconds(timeout);
  const auto whole = static_cast<time_t>(seconds);
  const auto micros = static_cast<time_t>((seconds - static_cast<double>(whole)) * 1e6);
  client->set_connection_timeout(whole, micros);
  client->set_read_timeout(whole, micros);
  client->set_write_timeout(whole, micros);
  return client;
}

}  // namespace baton
