// Status and Result<T>: how every module boundary in baton reports success or failure.
//
// A Status is a code plus a human-readable message; Result<T> holds either a value or a
// non-OK Status. No exception crosses a module boundary. Both are plain values and are safe
// to copy between threads.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace baton {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // the caller's input is wrong (bad config, bad flag)
  kNotFound,            // a key, lease, file or process does not exist
  kUnavailable,         // a peer (etcd, PostgreSQL) could not be reached; may succeed later
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kAborted,             // lost a race (a transaction's compare failed)
  kTimeout,             // a deadline passed
  kInternal,            // a command or system call failed
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Unavailable: etcd at 127.0.0.1:2379: connection refused"
  std::string ToString() const;
  // A copy with "context: " in front of the message; keeps the code.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status Unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Aborted(std::string m) {
  return {StatusCode::kAborted, std::move(m)};
}
inline Status Timeout(std::string m) {
  return {StatusCode::kTimeout, std::move(m)};
}
inline Status Internal(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace baton
