#include "ingest/mime.h"

#include <fcntl.h>
#include <magic.h>
#include <unistd.h>

#include <cerrno>

namespace strata::ingest {

namespace {

constexpr std::string_view kOctetStream = "application/octet-stream";
constexpr std::string_view kEmpty = "application/x-empty";

// libmagic handles are not thread-safe, and loading the database costs a few
// milliseconds, so each thread opens one on first use and keeps it.
class MagicHandle {
 public:
  MagicHandle() : magic_(magic_open(MAGIC_MIME_TYPE)) {
    if (magic_ != nullptr && magic_load(magic_, nullptr) != 0) {
      magic_close(magic_);
      magic_ = nullptr;
    }
  }
  ~MagicHandle() {
    if (magic_ != nullptr) magic_close(magic_);
  }
  MagicHandle(const MagicHandle&) = delete;
  MagicHandle& operator=(const MagicHandle&) = delete;
  magic_t get() const { return magic_; }

 private:
  magic_t magic_;
};

magic_t ThreadMagic() {
  thread_local MagicHandle handle;
  return handle.get();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsSpreadsheet(std::string_view m) {
  return m == "application/vnd.ms-excel" ||
         m == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
         m == "application/vnd.openxmlformats-officedocument.spreadsheetml.template" ||
         m == "application/vnd.ms-excel.sheet.macroenabled.12" ||
         m == "application/vnd.ms-excel.sheet.binary.macroenabled.12" ||
         m == "application/vnd.oasis.opendocument.spreadsheet";
}

// Structured text that libmagic and clients name outside text/*.
bool IsTextual(std::string_view m) {
  return StartsWith(m, "text/") || m == "application/json" || m == "application/x-ndjson" ||
         m == "application/xml" || m == "application/javascript" ||
         (StartsWith(m, "application/") && (m.ends_with("+json") || m.ends_with("+xml")));
}

}  // namespace

std::string NormalizeMime(std::string_view mime) {
  size_t semi = mime.find(';');
  if (semi != std::string_view::npos) mime = mime.substr(0, semi);
  while (!mime.empty() && (mime.front() == ' ' || mime.front() == '\t')) mime.remove_prefix(1);
  while (!mime.empty() && (mime.back() == ' ' || mime.back() == '\t')) mime.remove_suffix(1);
  std::string out(mime);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string SniffMime(std::string_view bytes) {
  if (bytes.empty()) return std::string(kEmpty);
  if (bytes.size() > kSniffBytes) {
    bytes = bytes.substr(0, kSniffBytes);
    // Do not cut a UTF-8 sequence in half: step back over continuation bytes
    // (at most 3) so text is not mistaken for binary at the cut.
    size_t back = 0;
    while (back < 3 && !bytes.empty() &&
           (static_cast<unsigned char>(bytes.back()) & 0xC0) == 0x80) {
      bytes.remove_suffix(1);
      ++back;
    }
    if (!bytes.empty() && (static_cast<unsigned char>(bytes.back()) & 0xC0) == 0xC0) {
      bytes.remove_suffix(1);  // the lead byte of the cut sequence
    }
  }
  magic_t m = ThreadMagic();
  if (m == nullptr) return std::string(kOctetStream);
  const char* type = magic_buffer(m, bytes.data(), bytes.size());
  if (type == nullptr) return std::string(kOctetStream);
  std::string out = NormalizeMime(type);
  // libmagic words emptiness as "inode/x-empty" for files and
  // "application/x-empty" for buffers; keep one spelling.
  if (out.empty()) return std::string(kOctetStream);
  if (out == "inode/x-empty") return std::string(kEmpty);
  return out;
}

std::string SniffMimeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string buf(kSniffBytes, '\0');
  size_t have = 0;
  while (have < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return "";
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.resize(have);
  return SniffMime(buf);
}

std::string BlobTypeForMime(std::string_view mime) {
  std::string m = NormalizeMime(mime);
  if (StartsWith(m, "image/")) return "image";
  if (StartsWith(m, "video/")) return "video";
  if (StartsWith(m, "audio/")) return "audio";
  if (m == "application/pdf") return "pdf";
  if (IsSpreadsheet(m)) return "excel";
  if (IsTextual(m)) return "text";
  return "";
}

bool MimeCompatibleWithBlobType(std::string_view mime, std::string_view blob_type) {
  std::string m = NormalizeMime(mime);
  bool octet = m == kOctetStream;
  if (blob_type == "text" || blob_type == "json") {
    return IsTextual(m) || m == kEmpty || octet;
  }
  if (blob_type == "image") return StartsWith(m, "image/");
  if (blob_type == "pdf") return m == "application/pdf";
  if (blob_type == "video") {
    return StartsWith(m, "video/") || m == "application/ogg" || m == "application/mp4" || octet ||
           m == "image/gif";
  }
  if (blob_type == "audio") {
    return StartsWith(m, "audio/") || StartsWith(m, "video/") || m == "application/ogg" ||
           m == "application/mp4" || octet;
  }
  if (blob_type == "excel") {
    return IsSpreadsheet(m) || m == "text/csv" || m == "application/zip" ||
           m == "application/x-ole-storage" || m == "application/cdfv2";
  }
  return true;
}

}  // namespace strata::ingest
