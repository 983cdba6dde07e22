// Status and Result<T>: errors are values inside Strata. Each code maps to one
// HTTP status and one error type name of the API's error envelope (see
// server/error_envelope.cc), so a layer deep inside can say "not found" without
// knowing about HTTP.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <variant>

namespace strata {

enum class StatusCode {
  kOk = 0,
  kBadRequest,        // 400 BadRequestError: malformed request
  kUnauthenticated,   // 401 UnauthorizedError
  kPermissionDenied,  // 403 ForbiddenError
  kNotFound,          // 404 NotFoundError
  kAlreadyExists,     // 409 AlreadyExistsError
  kPayloadTooLarge,   // 413 PayloadTooLargeError
  kValidation,        // 422 ValidationError (details.validation_errors)
  kTooManyRequests,   // 429 TooManyRequestsError
  kInternal,          // 500 InternalServerError
  kStorage,           // 500 StorageError
  kUnavailable,       // 503 (an upstream, e.g. a URL blob host, did not answer)
};

// The one table from code to HTTP status and to the API's error type name.
int HttpStatusOf(StatusCode code);
const char* ErrorTypeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, nlohmann::json details = nullptr)
      : code_(code), message_(std::move(message)), details_(std::move(details)) {}

  static Status Ok() { return {}; }
  static Status BadRequest(std::string m) { return {StatusCode::kBadRequest, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PayloadTooLarge(std::string m) { return {StatusCode::kPayloadTooLarge, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Storage(std::string m) { return {StatusCode::kStorage, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  // A validation failure at `location` (a dotted path into the request, e.g.
  // "body.bucket_schema.properties.year.type"); `type` is a short machine code.
  static Status Invalid(std::string location, std::string message,
                        std::string type = "value_error");

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const nlohmann::json& details() const { return details_; }

  // Adds another validation error to a kValidation status (used to report all
  // problems of one request at once rather than the first only).
  void AddValidationError(const std::string& location, const std::string& message,
                          const std::string& type = "value_error");

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  nlohmann::json details_;
};

// Collects validation errors; converts to one Status listing all of them.
class ValidationErrors {
 public:
  void Add(std::string location, std::string message, std::string type = "value_error");
  // One "unknown field" error for each key of `object` not in `allowed`, at
  // "<location>.<key>" (the check of every closed request shape).
  void RejectUnknownKeys(const nlohmann::json& object, const std::vector<std::string>& allowed,
                         const std::string& location);
  bool empty() const { return errors_.empty(); }
  Status ToStatus() const;

 private:
  nlohmann::json errors_ = nlohmann::json::array();
};

// Moves a validation status's locations under `prefix`: "body.x" becomes
// "<prefix>.x" (for an item of a batch, e.g. "body.objects[3]"). Other
// statuses are returned unchanged.
Status PrefixLocations(const Status& status, const std::string& prefix);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace strata

#define STRATA_CONCAT_INNER(a, b) a##b
#define STRATA_CONCAT(a, b) STRATA_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): expr is a Status; return it when not ok.
#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_IMPL(STRATA_CONCAT(_st_, __COUNTER__), expr)
#define RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                  \
    ::strata::Status tmp = (expr);      \
    if (!tmp.ok()) return tmp;          \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): expr is a Result<T>; on error return its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(STRATA_CONCAT(_res_, __COUNTER__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
