#include "ingest/blob_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "core/crypto.h"
#include "ingest/mime.h"

namespace strata::ingest {

namespace {

constexpr char kFormsHelp[] =
    "give an http(s) URL, a data: URI, {\"base64\": \"...\"} or {\"url\": \"...\"}";

// Incremental strict UTF-8 check, so a fetched text file is validated in
// pieces without holding it in memory.
class Utf8Validator {
 public:
  bool Feed(std::string_view s) {
    for (unsigned char c : s) {
      if (!ok_) return false;
      if (need_ == 0) {
        if (c < 0x80) continue;
        lo_ = 0x80;
        hi_ = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
          need_ = 1;
        } else if (c == 0xE0) {
          need_ = 2;
          lo_ = 0xA0;  // no overlong 3-byte forms
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
          need_ = 2;
        } else if (c == 0xED) {
          need_ = 2;
          hi_ = 0x9F;  // no UTF-16 surrogates
        } else if (c == 0xF0) {
          need_ = 3;
          lo_ = 0x90;  // no overlong 4-byte forms
        } else if (c >= 0xF1 && c <= 0xF3) {
          need_ = 3;
        } else if (c == 0xF4) {
          need_ = 3;
          hi_ = 0x8F;  // nothing above U+10FFFF
        } else {
          ok_ = false;
        }
      } else {
        if (c < lo_ || c > hi_) {
          ok_ = false;
        } else {
          lo_ = 0x80;
          hi_ = 0xBF;
          --need_;
        }
      }
    }
    return ok_;
  }
  bool Finish() const { return ok_ && need_ == 0; }

 private:
  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
  bool ok_ = true;
};

bool IsValidUtf8File(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Utf8Validator v;
  char buf[64 * 1024];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    if (!v.Feed(std::string_view(buf, static_cast<size_t>(n)))) {
      ok = false;
      break;
    }
  }
  ::close(fd);
  return ok && v.Finish();
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// "<scheme>://…" for any syntactically valid scheme (RFC 3986).
bool HasUrlScheme(std::string_view s) {
  size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (size_t i = 1; i < sep; ++i) {
    char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

std::string Article(std::string_view word) {
  return !word.empty() && std::string_view("aeiou").find(word[0]) != std::string_view::npos
             ? "an"
             : "a";
}

// FetchUrl names the field "data"; put its errors where the client wrote the URL.
Status Relocate(const Status& st, const std::string& location) {
  if (st.code() == StatusCode::kValidation) {
    const auto& errors = st.details()["validation_errors"];
    if (errors.is_array() && !errors.empty()) {
      Status out = Status::Invalid(location, errors[0].value("message", st.message()),
                                   errors[0].value("type", "value_error"));
      for (size_t i = 1; i < errors.size(); ++i) {
        out.AddValidationError(location, errors[i].value("message", ""),
                               errors[i].value("type", "value_error"));
      }
      return out;
    }
    return Status::Invalid(location, st.message(), "value_error");
  }
  if (st.code() == StatusCode::kPayloadTooLarge) {
    return Status::PayloadTooLarge(location + ": " + st.message());
  }
  return st;
}

Status TooLarge(const std::string& location, uint64_t size, uint64_t limit) {
  return Status::PayloadTooLarge(location + ": the blob is " + std::to_string(size) +
                                 " bytes; inline data is limited to " + std::to_string(limit) +
                                 " bytes (give an http(s) URL for larger files)");
}

// The bytes of a form, before staging, plus what the client said about them.
struct Decoded {
  std::string bytes;
  std::string declared_mime;
  std::string filename;
  std::string kind;
};

Result<Decoded> DecodeDataUri(std::string_view uri, const std::string& location) {
  size_t comma = uri.find(',');
  if (comma == std::string_view::npos) {
    return Status::Invalid(location, "a data: URI needs a ',' before its payload",
                           "invalid_data_uri");
  }
  std::string_view meta = uri.substr(5, comma - 5);  // after "data:"
  std::string_view payload = uri.substr(comma + 1);
  Decoded out;
  out.kind = "data_uri";
  bool base64 = false;
  bool first = true;
  while (true) {
    size_t semi = meta.find(';');
    std::string_view part = meta.substr(0, semi);
    if (first) {
      out.declared_mime = NormalizeMime(part);
      first = false;
    } else if (StartsWithNoCase(part, "base64") && part.size() == 6) {
      base64 = true;
    } else if (StartsWithNoCase(part, "name=")) {  // a common non-standard extension
      out.filename = SanitizeFilename(PercentDecode(part.substr(5)));
    }
    if (semi == std::string_view::npos) break;
    meta.remove_prefix(semi + 1);
  }
  if (base64) {
    // Base64 has no '%', so undoing percent-encoding first is harmless and
    // accepts URIs whose '+' and '/' were escaped.
    std::optional<std::string> bytes = Base64Decode(PercentDecode(payload));
    if (!bytes) {
      return Status::Invalid(location, "the payload of the data: URI is not valid base64",
                             "invalid_base64");
    }
    out.bytes = std::move(*bytes);
  } else {
    out.bytes = PercentDecode(payload);
  }
  return out;
}

// Reads an optional string member of a data object.
Result<std::string> OptionalString(const Json& obj, const char* key, const std::string& location) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Status::Invalid(location + "." + key, "must be a string, not " + JsonTypeName(*it),
                           "invalid_blob_data");
  }
  return it->get<std::string>();
}

// Removes the staged file unless released: every error path after staging.
class StagedGuard {
 public:
  StagedGuard(storage::BlobStore& store, const storage::StagedBlob& staged)
      : store_(store), staged_(staged) {}
  ~StagedGuard() {
    if (armed_) store_.Discard(staged_);
  }
  void Release() { armed_ = false; }

 private:
  storage::BlobStore& store_;
  const storage::StagedBlob& staged_;
  bool armed_ = true;
};

// Settles the MIME type and checks the content against the blob type.
// `sniffed` is libmagic's verdict on the bytes; `declared` the client's or the
// remote server's word.
Result<std::string> SettleMime(const std::string& sniffed, const std::string& declared,
                               std::string_view blob_type, const std::string& location) {
  if (!MimeCompatibleWithBlobType(sniffed, blob_type)) {
    return Status::Invalid(location,
                           "content is " + sniffed + ", not " + Article(blob_type) + " " +
                               std::string(blob_type),
                           "type_mismatch");
  }
  bool declared_textual = BlobTypeForMime(declared) == "text";
  if (sniffed == "application/octet-stream" && !declared.empty() &&
      declared != "application/octet-stream") {
    // libmagic does not know; the declaration may (e.g. video/mp2t). For text
    // blobs only a textual declaration makes sense (UTF-8 is checked apart).
    if (blob_type != "text" || declared_textual) return declared;
    return std::string("text/plain");
  }
  if (sniffed == "text/plain" && declared_textual) return declared;  // e.g. text/markdown
  if (blob_type == "text" && sniffed == "application/x-empty") {
    return declared_textual ? declared : std::string("text/plain");
  }
  return sniffed;
}

Result<ResolvedBlob> FromUrl(const std::string& url, const std::string& declared_mime,
                             const std::string& declared_filename, std::string_view blob_type,
                             storage::BlobStore& store, const BlobSourceOptions& options,
                             const std::string& location) {
  if (StartsWithNoCase(url, "s3://")) {
    return Status::Invalid(location,
                           "s3:// sources need an S3 connection, which this server does not "
                           "have; upload the file or give an http(s) URL",
                           "unsupported_source");
  }
  Result<FetchedBlob> fetched = FetchUrl(url, store, options.fetch);
  if (!fetched.ok()) return Relocate(fetched.status(), location);
  StagedGuard guard(store, fetched->staged);

  std::string sniffed = SniffMimeFile(fetched->staged.temp_path);
  if (sniffed.empty()) return Status::Storage("cannot read the fetched blob back");
  // The client's declaration outranks the remote server's Content-Type.
  std::string declared = !declared_mime.empty() ? NormalizeMime(declared_mime)
                                                : fetched->content_type;
  ASSIGN_OR_RETURN(std::string mime, SettleMime(sniffed, declared, blob_type, location));
  if (blob_type == "text" && !IsValidUtf8File(fetched->staged.temp_path)) {
    return Status::Invalid(location, "the text at " + UrlWithoutCredentials(url) +
                                         " is not valid UTF-8",
                           "invalid_utf8");
  }
  ResolvedBlob out;
  out.staged = fetched->staged;
  out.filename = !declared_filename.empty() ? SanitizeFilename(declared_filename)
                                            : fetched->filename;
  out.mime_type = std::move(mime);
  out.source_url = UrlWithoutCredentials(url);
  out.source_kind = "url";
  guard.Release();
  return out;
}

Result<ResolvedBlob> FromBytes(Decoded decoded, std::string_view blob_type,
                               storage::BlobStore& store, const BlobSourceOptions& options,
                               const std::string& location) {
  if (decoded.bytes.size() > options.max_inline_bytes) {
    return TooLarge(location, decoded.bytes.size(), options.max_inline_bytes);
  }
  std::string mime;
  if (decoded.kind == "text") {
    mime = "text/plain";  // the client's own string: no sniffing
  } else {
    ASSIGN_OR_RETURN(mime, SettleMime(SniffMime(decoded.bytes), decoded.declared_mime, blob_type,
                                      location));
  }
  if (blob_type == "text" && !IsValidUtf8(decoded.bytes)) {
    return Status::Invalid(location, "text blobs must be valid UTF-8", "invalid_utf8");
  }
  ASSIGN_OR_RETURN(storage::StagedBlob staged, store.StageBytes(decoded.bytes));
  ResolvedBlob out;
  out.staged = std::move(staged);
  out.filename = SanitizeFilename(decoded.filename);
  out.mime_type = std::move(mime);
  out.source_kind = std::move(decoded.kind);
  return out;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  Utf8Validator v;
  return v.Feed(s) && v.Finish();
}

Result<ResolvedBlob> ResolveBlobData(const Json& data, std::string_view blob_type,
                                     storage::BlobStore& store, const BlobSourceOptions& options,
                                     std::string_view location_view) {
  const std::string location(location_view);

  if (data.is_string()) {
    const std::string& s = data.get_ref<const std::string&>();
    if (StartsWithNoCase(s, "http://") || StartsWithNoCase(s, "https://") ||
        StartsWithNoCase(s, "s3://")) {
      return FromUrl(s, "", "", blob_type, store, options, location);
    }
    if (StartsWithNoCase(s, "data:")) {
      ASSIGN_OR_RETURN(Decoded decoded, DecodeDataUri(s, location));
      return FromBytes(std::move(decoded), blob_type, store, options, location);
    }
    if (blob_type == "text") {
      return FromBytes(Decoded{s, "text/plain", "", "text"}, blob_type, store, options, location);
    }
    if (HasUrlScheme(s)) {  // ftp://, file://, gs://…: a URL, but not one we fetch
      return Status::Invalid(location,
                             "only http and https URLs can be fetched; " + std::string(kFormsHelp),
                             "url_scheme");
    }
    return Status::Invalid(location,
                           "a string here must be a URL or a data: URI (plain text is only "
                           "accepted for text blobs); " +
                               std::string(kFormsHelp),
                           "invalid_blob_data");
  }

  if (data.is_object()) {
    bool has_url = data.contains("url") && !data["url"].is_null();
    bool has_base64 = data.contains("base64") && !data["base64"].is_null();
    if (has_url == has_base64) {
      return Status::Invalid(location,
                             has_url ? "give either \"url\" or \"base64\", not both"
                                     : "an object here needs \"url\" or \"base64\"; " +
                                           std::string(kFormsHelp),
                             "invalid_blob_data");
    }
    ASSIGN_OR_RETURN(std::string mime_type, OptionalString(data, "mime_type", location));
    ASSIGN_OR_RETURN(std::string filename, OptionalString(data, "filename", location));
    if (has_url) {
      const std::string url_location = location + ".url";
      ASSIGN_OR_RETURN(std::string url, OptionalString(data, "url", location));
      if (!HasUrlScheme(url)) {
        return Status::Invalid(url_location, "not a URL; give an http(s) URL", "invalid_url");
      }
      return FromUrl(url, mime_type, filename, blob_type, store, options, url_location);
    }
    const std::string b64_location = location + ".base64";
    ASSIGN_OR_RETURN(std::string encoded, OptionalString(data, "base64", location));
    // Reject before decoding when even the most compact reading is too large.
    uint64_t min_decoded = encoded.size() / 4 * 3;
    // (Size first: the whitespace scan is a pass over the whole text.)
    if (min_decoded > options.max_inline_bytes + 2 &&
        encoded.find_first_of(" \t\r\n") == std::string::npos) {
      return TooLarge(b64_location, min_decoded, options.max_inline_bytes);
    }
    std::optional<std::string> bytes = Base64Decode(encoded);
    if (!bytes) return Status::Invalid(b64_location, "not valid base64", "invalid_base64");
    return FromBytes(Decoded{std::move(*bytes), NormalizeMime(mime_type), filename, "base64"},
                     blob_type, store, options, b64_location);
  }

  return Status::Invalid(location, "must be a string or an object, not " + JsonTypeName(data) +
                                       "; " + std::string(kFormsHelp),
                         "invalid_blob_data");
}

}  // namespace strata::ingest
