#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

int64_t NowUnixMillis();
int64_t NowUnixSeconds();
// "2026-11-24T12:34:56.789Z"
std::string FormatIso8601(int64_t unix_millis);
std::string NowIso8601();
// Parses "YYYY-MM-DD" (date) or an RFC 3339 date-time ("YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)",
// a space instead of 'T' accepted). Returns unix millis (UTC).
std::optional<int64_t> ParseIso8601(std::string_view s);
bool IsIsoDate(std::string_view s);      // exactly YYYY-MM-DD, a real calendar day
bool IsIsoDateTime(std::string_view s);  // a date-time ParseIso8601 accepts, with a time part

}  // namespace strata
