#include "storage/index_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/crypto.h"

namespace strata::storage {
namespace {

class IndexFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-ixf-" + RandomAlnum(8));
    auto f = IndexFiles::Open(dir_.string());
    ASSERT_TRUE(f.ok()) << f.status().message();
    files_ = std::move(f).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t Entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ / "indexes")) ++n;
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<IndexFiles> files_;
};

TEST_F(IndexFilesTest, WritesReplaceWholeAndReadBack) {
  EXPECT_EQ(files_->ReadAll("a.vidx").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(files_->WriteAll("a.vidx", "first").ok());
  EXPECT_EQ(*files_->ReadAll("a.vidx"), "first");
  // Streamed in pieces, small and larger than the buffer.
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>(i);
  {
    auto w = files_->NewWriter("a.vidx");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(big.substr(0, 10)).ok());
    ASSERT_TRUE((*w)->Append(big.substr(10, 2 << 20)).ok());
    ASSERT_TRUE((*w)->Append(big.substr(10 + (2 << 20))).ok());
    // Not yet committed: readers still see the old file.
    EXPECT_EQ(*files_->ReadAll("a.vidx"), "first");
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_EQ(*files_->ReadAll("a.vidx"), big);
  auto r = files_->OpenReader("a.vidx");
  ASSERT_TRUE(r.ok());
  std::string head(7, '\0'), rest(big.size() - 7, '\0');
  ASSERT_TRUE((*r)->Read(head.data(), head.size()).ok());
  ASSERT_TRUE((*r)->Read(rest.data(), rest.size()).ok());
  EXPECT_EQ(head + rest, big);
  char more;
  EXPECT_EQ((*r)->Read(&more, 1).code(), StatusCode::kStorage);
  EXPECT_EQ(Entries(), 1u);  // no temporary file left
}

TEST_F(IndexFilesTest, AnAbandonedWriteLeavesTheOldFile) {
  ASSERT_TRUE(files_->WriteAll("a.vidx", "old").ok());
  {
    auto w = files_->NewWriter("a.vidx");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("new").ok());
  }
  EXPECT_EQ(*files_->ReadAll("a.vidx"), "old");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(IndexFilesTest, OpenSweepsTemporaryFilesACrashLeft) {
  ASSERT_TRUE(files_->WriteAll("keep.vidx", "x").ok());
  std::ofstream(dir_ / "indexes" / ".tmp-crashed") << "partial";
  auto again = IndexFiles::Open(dir_.string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Entries(), 1u);
  EXPECT_EQ(*(*again)->ReadAll("keep.vidx"), "x");
}

TEST_F(IndexFilesTest, NamesAreNeverPaths) {
  for (const char* bad : {"", "../x", "a/b", ".hidden", "a b", "x\n"}) {
    EXPECT_FALSE(IndexFiles::IsValidName(bad)) << bad;
    EXPECT_FALSE(files_->WriteAll(bad, "x").ok()) << bad;
    EXPECT_FALSE(files_->ReadAll(bad).ok()) << bad;
  }
  EXPECT_TRUE(IndexFiles::IsValidName("col_1%2Fx.text_emb.cosine.vidx"));
}

TEST_F(IndexFilesTest, ListsByPrefixAndRemoves) {
  ASSERT_TRUE(files_->WriteAll("col_1.a.vidx", "1").ok());
  ASSERT_TRUE(files_->WriteAll("col_1.b.vidx", "2").ok());
  ASSERT_TRUE(files_->WriteAll("col_2.a.vidx", "3").ok());
  EXPECT_EQ(*files_->List("col_1."), (std::vector<std::string>{"col_1.a.vidx", "col_1.b.vidx"}));
  EXPECT_EQ(files_->List()->size(), 3u);
  ASSERT_TRUE(files_->Remove("col_1.a.vidx").ok());
  ASSERT_TRUE(files_->Remove("col_1.a.vidx").ok());  // already gone is fine
  EXPECT_EQ(*files_->List("col_1."), (std::vector<std::string>{"col_1.b.vidx"}));
}

}  // namespace
}  // namespace strata::storage
