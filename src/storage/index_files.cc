#include "storage/index_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/crypto.h"
#include "storage/file_util.h"

namespace strata::storage {

namespace fs = std::filesystem;

namespace {

// Temporary files start with a dot, which no valid name does: they can never
// be mistaken for an index, and Open knows what to sweep.
constexpr const char* kTempPrefix = ".tmp-";
constexpr size_t kWriteBuffer = 1 << 20;
constexpr size_t kReadBuffer = 1 << 20;

}  // namespace

bool IndexFiles::IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '%';
  });
}

// ---------------------------------------------------------------- Writer

IndexFiles::Writer::Writer(int fd, std::string temp_path, std::string final_path, std::string dir)
    : fd_(fd), temp_path_(std::move(temp_path)), final_path_(std::move(final_path)), dir_(std::move(dir)) {
  buffer_.reserve(kWriteBuffer);
}

IndexFiles::Writer::~Writer() {
  if (!committed_) CloseAndRemove();
}

void IndexFiles::Writer::CloseAndRemove() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

Status IndexFiles::Writer::Flush() {
  Status st = storage::WriteAll(fd_, buffer_, temp_path_);
  buffer_.clear();
  return st;
}

Status IndexFiles::Writer::Append(std::string_view bytes) {
  if (!failure_.ok()) return failure_;
  if (committed_) return Status::Internal("index file writer used after Commit()");
  size_ += bytes.size();
  if (buffer_.size() + bytes.size() <= kWriteBuffer) {
    buffer_.append(bytes);
    return Status::Ok();
  }
  Status st = Flush();
  if (st.ok()) {
    if (bytes.size() >= kWriteBuffer) {
      st = storage::WriteAll(fd_, bytes, temp_path_);
    } else {
      buffer_.append(bytes);
    }
  }
  if (!st.ok()) {
    failure_ = st;
    CloseAndRemove();
  }
  return st;
}

Status IndexFiles::Writer::Commit() {
  if (!failure_.ok()) return failure_;
  if (committed_) return Status::Ok();
  Status st = Flush();
  if (st.ok() && ::fsync(fd_) != 0) st = ErrnoStatus("cannot fsync", temp_path_, errno);
  if (st.ok()) {
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) st = ErrnoStatus("cannot close", temp_path_, errno);
  }
  // rename(2) is atomic: a reader opens the old file or the new one, whole.
  if (st.ok() && ::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    st = Status::Storage("cannot move " + temp_path_ + " to " + final_path_ + ": " + std::strerror(errno));
  }
  if (!st.ok()) {
    failure_ = st;
    CloseAndRemove();
    return st;
  }
  committed_ = true;
  temp_path_.clear();
  return FsyncDir(dir_);
}

// ---------------------------------------------------------------- Reader

IndexFiles::Reader::Reader(int fd, std::string path, uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size) {}

IndexFiles::Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

Status IndexFiles::Reader::Read(void* dst, size_t n) {
  char* out = static_cast<char*>(dst);
  if (n > remaining()) return Status::Storage("index file " + path_ + " ends early");
  while (n > 0) {
    if (buffer_pos_ == buffer_.size()) {
      // Large reads skip the buffer; small ones (headers, ids) refill it.
      if (n >= kReadBuffer) {
        ssize_t got = ::read(fd_, out, n);
        if (got < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("cannot read", path_, errno);
        }
        if (got == 0) return Status::Storage("index file " + path_ + " ends early");
        out += got;
        n -= static_cast<size_t>(got);
        offset_ += static_cast<uint64_t>(got);
        continue;
      }
      buffer_.resize(kReadBuffer);
      ssize_t got;
      do {
        got = ::read(fd_, buffer_.data(), buffer_.size());
      } while (got < 0 && errno == EINTR);
      if (got < 0) return ErrnoStatus("cannot read", path_, errno);
      if (got == 0) return Status::Storage("index file " + path_ + " ends early");
      buffer_.resize(static_cast<size_t>(got));
      buffer_pos_ = 0;
    }
    size_t take = std::min(n, buffer_.size() - buffer_pos_);
    std::memcpy(out, buffer_.data() + buffer_pos_, take);
    buffer_pos_ += take;
    out += take;
    n -= take;
    offset_ += take;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- IndexFiles

Result<std::unique_ptr<IndexFiles>> IndexFiles::Open(const std::string& data_dir) {
  if (data_dir.empty()) return Status::Internal("index files: data directory is empty");
  std::error_code ec;
  // Absolute, so that a later chdir cannot make the files point elsewhere.
  fs::path dir = fs::absolute(fs::path(data_dir) / "indexes", ec).lexically_normal();
  if (ec) return Status::Storage("cannot resolve " + data_dir + ": " + ec.message());
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return Status::Storage("cannot create index directory " + dir.string() + ": " + ec.message());
  }
  std::vector<fs::path> temps;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(kTempPrefix, 0) == 0) temps.push_back(it->path());
  }
  if (ec) return Status::Storage("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& p : temps) fs::remove(p, ec);
  std::string d = dir.string();
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return std::unique_ptr<IndexFiles>(new IndexFiles(d));
}

Result<std::unique_ptr<IndexFiles::Writer>> IndexFiles::NewWriter(const std::string& name) {
  if (!IsValidName(name)) return Status::BadRequest("invalid index file name '" + name + "'");
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string temp = dir_ + "/" + kTempPrefix + RandomAlnum(16);
    int fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) return std::unique_ptr<Writer>(new Writer(fd, temp, dir_ + "/" + name, dir_));
    if (errno != EEXIST && errno != EINTR) return ErrnoStatus("cannot create temp file", temp, errno);
  }
  return Status::Storage("cannot create a temp file in " + dir_);
}

Result<std::unique_ptr<IndexFiles::Reader>> IndexFiles::OpenReader(const std::string& name) const {
  if (!IsValidName(name)) return Status::BadRequest("invalid index file name '" + name + "'");
  std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("index file " + name + " does not exist");
    return ErrnoStatus("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat", path, err);
  }
  return std::unique_ptr<Reader>(new Reader(fd, path, static_cast<uint64_t>(st.st_size)));
}

Status IndexFiles::WriteAll(const std::string& name, std::string_view bytes) {
  ASSIGN_OR_RETURN(auto w, NewWriter(name));
  RETURN_IF_ERROR(w->Append(bytes));
  return w->Commit();
}

Result<std::string> IndexFiles::ReadAll(const std::string& name) const {
  ASSIGN_OR_RETURN(auto r, OpenReader(name));
  std::string out(r->size(), '\0');
  RETURN_IF_ERROR(r->Read(out.data(), out.size()));
  return out;
}

Status IndexFiles::Remove(const std::string& name) {
  if (!IsValidName(name)) return Status::BadRequest("invalid index file name '" + name + "'");
  std::string path = dir_ + "/" + name;
  // No directory fsync: a file that comes back after a crash is found stale
  // (or unwanted) and dealt with by its owner.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("cannot remove", path, errno);
  return Status::Ok();
}

Result<std::vector<std::string>> IndexFiles::List(const std::string& prefix) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!IsValidName(name) || name.rfind(prefix, 0) != 0) continue;
    std::error_code fec;
    if (it->is_regular_file(fec)) names.push_back(std::move(name));
  }
  if (ec) return Status::Storage("cannot list " + dir_ + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace strata::storage
