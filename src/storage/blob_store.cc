#include "storage/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "storage/file_util.h"

namespace strata::storage {

namespace fs = std::filesystem;

namespace {

constexpr size_t kTempNameLength = 24;  // 143 bits of randomness: no guessing, no clashes

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- Writer

BlobStore::Writer::Writer(int fd, std::string temp_path, uint64_t max_bytes)
    : fd_(fd), temp_path_(std::move(temp_path)), max_bytes_(max_bytes) {}

BlobStore::Writer::~Writer() {
  if (!finished_) CloseAndRemove();
}

void BlobStore::Writer::CloseAndRemove() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

Status BlobStore::Writer::Append(std::string_view bytes) {
  if (!failure_.ok()) return failure_;
  if (finished_) return Status::Internal("blob writer used after Finish()");
  // size_ <= max_bytes_ always holds here, so the subtraction cannot wrap.
  if (bytes.size() > max_bytes_ - size_) {
    failure_ = Status::PayloadTooLarge("blob is larger than the limit of " +
                                       std::to_string(max_bytes_) + " bytes");
    CloseAndRemove();  // free the disk now rather than when the caller lets go
    return failure_;
  }
  Status st = WriteAll(fd_, bytes, temp_path_);
  if (!st.ok()) {
    failure_ = st;
    CloseAndRemove();
    return failure_;
  }
  hash_.Update(bytes);
  size_ += bytes.size();
  return Status::Ok();
}

Result<StagedBlob> BlobStore::Writer::Finish() {
  if (!failure_.ok()) return failure_;
  if (finished_) return Status::Internal("blob writer finished twice");
  if (::fsync(fd_) != 0) {
    failure_ = ErrnoStatus("cannot fsync", temp_path_, errno);
    CloseAndRemove();
    return failure_;
  }
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    failure_ = ErrnoStatus("cannot close", temp_path_, errno);
    CloseAndRemove();
    return failure_;
  }
  finished_ = true;  // from here on the temp file belongs to the StagedBlob
  return StagedBlob{temp_path_, hash_.HexDigest(), size_};
}

// ---------------------------------------------------------------- BlobStore

BlobStore::BlobStore(std::string root) : root_(std::move(root)), tmp_dir_(root_ + "/tmp") {}

Result<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& root) {
  if (root.empty()) return Status::Internal("blob store root is empty");
  std::error_code ec;
  // Absolute, so that a later chdir cannot make the store point elsewhere.
  fs::path abs = fs::absolute(fs::path(root), ec).lexically_normal();
  if (ec) return Status::Storage("cannot resolve blob store root " + root + ": " + ec.message());
  std::string normalized = abs.string();
  while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();

  auto store = std::unique_ptr<BlobStore>(new BlobStore(normalized));
  fs::create_directories(store->tmp_dir_, ec);
  if (ec) {
    return Status::Storage("cannot create blob store directory " + store->tmp_dir_ + ": " +
                           ec.message());
  }
  if (!fs::is_directory(store->root_, ec) || !fs::is_directory(store->tmp_dir_, ec)) {
    return Status::Storage("blob store root " + store->root_ + " is not a directory");
  }
  return store;
}

Result<std::unique_ptr<BlobStore::Writer>> BlobStore::NewWriter(uint64_t max_bytes) {
  bool recreated_tmp = false;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string path = tmp_dir_ + "/" + RandomAlnum(kTempNameLength);
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) return std::unique_ptr<Writer>(new Writer(fd, std::move(path), max_bytes));
    int err = errno;
    if (err == EEXIST || err == EINTR) continue;
    if (err == ENOENT && !recreated_tmp) {  // someone removed tmp/ under us
      recreated_tmp = true;
      std::error_code ec;
      fs::create_directories(tmp_dir_, ec);
      continue;
    }
    return ErrnoStatus("cannot create temp file", path, err);
  }
  return Status::Storage("cannot create a temp file in " + tmp_dir_);
}

Result<StagedBlob> BlobStore::StageBytes(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto writer, NewWriter(bytes.size()));
  RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Finish();
}

bool BlobStore::IsTempPath(const std::string& path) const {
  if (path.size() <= tmp_dir_.size() + 1) return false;
  if (path.compare(0, tmp_dir_.size(), tmp_dir_) != 0 || path[tmp_dir_.size()] != '/') {
    return false;
  }
  std::string_view name(path);
  name.remove_prefix(tmp_dir_.size() + 1);
  return name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

Status BlobStore::Commit(const StagedBlob& staged) {
  std::string final_path = PathFor(staged.sha256);
  if (final_path.empty()) return Status::Internal("commit of a blob with an invalid sha256");
  if (!IsTempPath(staged.temp_path)) {
    return Status::Internal("commit of a file outside the blob store's temp directory");
  }
  if (Exists(staged.sha256)) {
    // Same name, same content: keep the existing file, drop the copy.
    if (::unlink(staged.temp_path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("cannot remove temp file", staged.temp_path, errno);
    }
    return Status::Ok();
  }
  std::string shard_dir = root_ + "/" + staged.sha256.substr(0, 2);
  if (::mkdir(shard_dir.c_str(), 0700) == 0) {
    RETURN_IF_ERROR(FsyncDir(root_));  // the new shard directory must survive a crash too
  } else if (errno != EEXIST) {
    return ErrnoStatus("cannot create directory", shard_dir, errno);
  }
  // rename(2) is atomic: readers see no file or the whole file. Two commits of
  // the same content racing here both succeed with identical bytes.
  if (::rename(staged.temp_path.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT && Exists(staged.sha256)) return Status::Ok();  // committed before
    return Status::Storage("cannot move " + staged.temp_path + " to " + final_path + ": " +
                           std::strerror(err));
  }
  return FsyncDir(shard_dir);
}

void BlobStore::Discard(const StagedBlob& staged) {
  if (IsTempPath(staged.temp_path)) ::unlink(staged.temp_path.c_str());
}

Status BlobStore::Remove(const std::string& sha256) {
  std::string path = PathFor(sha256);
  if (path.empty()) return Status::Invalid("sha256", "not a SHA-256 hex digest", "invalid_sha256");
  // No directory fsync: if a crash undoes the unlink, the file comes back
  // unreferenced and the start-up Sweep removes it again.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot remove blob", path, errno);
  }
  return Status::Ok();
}

bool BlobStore::Exists(const std::string& sha256) const {
  std::string path = PathFor(sha256);
  if (path.empty()) return false;
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string BlobStore::PathFor(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return "";
  return root_ + "/" + sha256.substr(0, 2) + "/" + sha256;
}

Result<std::string> BlobStore::ReadAll(const std::string& sha256) const {
  std::string path = PathFor(sha256);
  if (path.empty()) return Status::Invalid("sha256", "not a SHA-256 hex digest", "invalid_sha256");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("blob " + sha256 + " does not exist");
    return ErrnoStatus("cannot open blob", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat blob", path, err);
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot read blob", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<size_t> BlobStore::Sweep(const std::function<bool(const std::string&)>& is_referenced) {
  size_t removed = 0;
  std::error_code ec;

  // Names are collected first, so nothing is removed while a directory is
  // being iterated.
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(tmp_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) doomed.push_back(it->path());
  }
  if (ec) return Status::Storage("cannot list " + tmp_dir_ + ": " + ec.message());

  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string shard = it->path().filename().string();
    if (shard.size() != 2 || !IsLowerHex(shard[0]) || !IsLowerHex(shard[1])) continue;
    // symlink_status: a link planted here must not lead the sweep elsewhere.
    if (!fs::is_directory(it->symlink_status(ec))) continue;
    std::error_code inner;
    for (fs::directory_iterator f(it->path(), inner), fend; !inner && f != fend;
         f.increment(inner)) {
      std::string name = f->path().filename().string();
      // Only files this store could have written; anything else is not ours.
      if (!IsSha256Hex(name) || name.compare(0, 2, shard) != 0) continue;
      if (!f->is_regular_file(inner)) continue;
      if (!is_referenced(name)) doomed.push_back(f->path());
    }
    if (inner) return Status::Storage("cannot list " + it->path().string() + ": " + inner.message());
  }
  if (ec) return Status::Storage("cannot list " + root_ + ": " + ec.message());

  for (const fs::path& p : doomed) {
    if (fs::remove(p, ec)) {
      ++removed;
    } else if (ec) {
      return Status::Storage("cannot remove " + p.string() + ": " + ec.message());
    }
  }
  return removed;
}

uint64_t BlobStore::TempBytesInUse() const {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(tmp_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    uintmax_t n = it->file_size(size_ec);
    if (!size_ec) total += n;
  }
  return total;
}

}  // namespace strata::storage
