#include "storage/blob_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/crypto.h"

namespace strata::storage {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("strata_blob_test_" + RandomAlnum(12))).string();
    auto opened = BlobStore::Open(root_ + "/blobs");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  size_t CountFiles(const std::string& dir) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }
  size_t TempFiles() { return CountFiles(store_->root() + "/tmp"); }

  std::string root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, OpenCreatesDirectories) {
  EXPECT_TRUE(fs::is_directory(store_->root()));
  EXPECT_TRUE(fs::is_directory(store_->root() + "/tmp"));
  EXPECT_EQ(store_->root(), fs::path(root_ + "/blobs").string());
}

TEST_F(BlobStoreTest, StageCommitRead) {
  std::string content = "hello, blob";
  auto staged = store_->StageBytes(content);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_EQ(staged->sha256, Sha256Hex(content));
  EXPECT_EQ(staged->size, content.size());
  EXPECT_TRUE(fs::exists(staged->temp_path));
  EXPECT_FALSE(store_->Exists(staged->sha256));

  ASSERT_TRUE(store_->Commit(*staged).ok());
  EXPECT_FALSE(fs::exists(staged->temp_path));
  EXPECT_TRUE(store_->Exists(staged->sha256));
  std::string path = store_->PathFor(staged->sha256);
  EXPECT_EQ(path, store_->root() + "/" + staged->sha256.substr(0, 2) + "/" + staged->sha256);
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto read = store_->ReadAll(staged->sha256);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, content);

  // Committing again is a no-op.
  EXPECT_TRUE(store_->Commit(*staged).ok());
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(BlobStoreTest, EmptyBlob) {
  auto staged = store_->StageBytes("");
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->sha256, Sha256Hex(""));
  ASSERT_TRUE(store_->Commit(*staged).ok());
  EXPECT_EQ(store_->ReadAll(staged->sha256).value(), "");
}

TEST_F(BlobStoreTest, SameContentTwiceIsOneFile) {
  auto a = store_->StageBytes("same bytes");
  auto b = store_->StageBytes("same bytes");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->temp_path, b->temp_path);
  EXPECT_EQ(a->sha256, b->sha256);
  ASSERT_TRUE(store_->Commit(*a).ok());
  ASSERT_TRUE(store_->Commit(*b).ok());
  EXPECT_EQ(CountFiles(store_->root()), 1u);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(BlobStoreTest, WriterStreamsAndHashes) {
  auto w = store_->NewWriter(1000);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("abc").ok());
  ASSERT_TRUE((*w)->Append("").ok());
  ASSERT_TRUE((*w)->Append("def").ok());
  EXPECT_EQ((*w)->size(), 6u);
  auto staged = (*w)->Finish();
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->sha256, Sha256Hex("abcdef"));
  EXPECT_EQ(staged->size, 6u);
  EXPECT_FALSE((*w)->Finish().ok());  // once only
  w->reset();                          // a finished writer leaves its temp file alone
  EXPECT_TRUE(fs::exists(staged->temp_path));
  store_->Discard(*staged);
  EXPECT_FALSE(fs::exists(staged->temp_path));
  store_->Discard(*staged);  // errors ignored
}

TEST_F(BlobStoreTest, WriterLimit) {
  auto w = store_->NewWriter(5);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("12345").ok());  // exactly the limit is fine
  Status st = (*w)->Append("6");
  EXPECT_EQ(st.code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(TempFiles(), 0u);  // the partial file is gone at once
  EXPECT_EQ((*w)->Append("x").code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ((*w)->Finish().status().code(), StatusCode::kPayloadTooLarge);

  auto zero = store_->NewWriter(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ((*zero)->Append("x").code(), StatusCode::kPayloadTooLarge);
}

TEST_F(BlobStoreTest, DestructorRemovesTempFile) {
  {
    auto w = store_->NewWriter(100);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("partial upload").ok());
    EXPECT_EQ(TempFiles(), 1u);
    EXPECT_EQ(store_->TempBytesInUse(), 14u);
  }
  EXPECT_EQ(TempFiles(), 0u);
  EXPECT_EQ(store_->TempBytesInUse(), 0u);
}

TEST_F(BlobStoreTest, RemoveAndMissing) {
  auto staged = store_->StageBytes("to be removed");
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(store_->Commit(*staged).ok());
  EXPECT_TRUE(store_->Remove(staged->sha256).ok());
  EXPECT_FALSE(store_->Exists(staged->sha256));
  EXPECT_TRUE(store_->Remove(staged->sha256).ok());  // missing is OK
  EXPECT_EQ(store_->ReadAll(staged->sha256).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Remove("../etc").code(), StatusCode::kValidation);
}

TEST_F(BlobStoreTest, SweepRemovesUnreferencedAndTempFiles) {
  auto keep = store_->StageBytes("keep me");
  auto drop = store_->StageBytes("drop me");
  ASSERT_TRUE(keep.ok() && drop.ok());
  ASSERT_TRUE(store_->Commit(*keep).ok());
  ASSERT_TRUE(store_->Commit(*drop).ok());
  auto leftover = store_->StageBytes("a crash left me in tmp");
  ASSERT_TRUE(leftover.ok());
  // A file that is not a blob name is not the store's to delete.
  std::string stranger = store_->root() + "/" + keep->sha256.substr(0, 2) + "/README";
  std::ofstream(stranger) << "not a blob";

  std::set<std::string> referenced = {keep->sha256};
  auto removed = store_->Sweep([&](const std::string& sha) { return referenced.count(sha) > 0; });
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2u);
  EXPECT_TRUE(store_->Exists(keep->sha256));
  EXPECT_FALSE(store_->Exists(drop->sha256));
  EXPECT_FALSE(fs::exists(leftover->temp_path));
  EXPECT_TRUE(fs::exists(stranger));
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(BlobStoreTest, PathForRejectsAnythingButSha256Hex) {
  std::string good(64, 'a');
  EXPECT_FALSE(store_->PathFor(good).empty());
  EXPECT_EQ(store_->PathFor("../x"), "");
  EXPECT_EQ(store_->PathFor(""), "");
  EXPECT_EQ(store_->PathFor(std::string(63, 'a')), "");
  EXPECT_EQ(store_->PathFor(std::string(65, 'a')), "");
  EXPECT_EQ(store_->PathFor(std::string(64, 'A')), "");  // uppercase is not canonical
  EXPECT_EQ(store_->PathFor("../" + std::string(61, 'a')), "");
  EXPECT_EQ(store_->PathFor(std::string(63, 'a') + "/"), "");
  EXPECT_FALSE(store_->Exists("../x"));
  EXPECT_EQ(store_->ReadAll("../../etc/passwd").status().code(), StatusCode::kValidation);
}

TEST_F(BlobStoreTest, CommitRefusesForeignPaths) {
  StagedBlob forged{root_ + "/elsewhere", Sha256Hex("x"), 1};
  EXPECT_FALSE(store_->Commit(forged).ok());
  StagedBlob traversal{store_->root() + "/tmp/../" + std::string(64, 'a'), Sha256Hex("x"), 1};
  EXPECT_FALSE(store_->Commit(traversal).ok());
  StagedBlob bad_sha{store_->root() + "/tmp/abc", "nothex", 1};
  EXPECT_FALSE(store_->Commit(bad_sha).ok());
}

TEST_F(BlobStoreTest, ReopenSeesCommittedBlobs) {
  auto staged = store_->StageBytes("durable");
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(store_->Commit(*staged).ok());
  auto again = BlobStore::Open(root_ + "/blobs/");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ReadAll(staged->sha256).value(), "durable");
}

}  // namespace
}  // namespace strata::storage
