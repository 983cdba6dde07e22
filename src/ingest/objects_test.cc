// Objects against a real store and blob store, without HTTP: the blob life
// cycle under concurrent writers and deleters, and all-or-nothing creates.
#include "ingest/objects.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "catalog/buckets.h"
#include "core/crypto.h"
#include "storage/blob_store.h"

namespace strata::ingest {
namespace {

class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-objects-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    store_ = std::move(storage::OpenSqliteMetadataStore((dir_ / "db").string())).value();
    blob_store_ = std::move(storage::BlobStore::Open((dir_ / "blobs").string())).value();
    keeper_ = std::make_unique<BlobKeeper>(*blob_store_);
    ASSERT_TRUE(store_->Write([&](storage::Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto org, w.CreateOrganization("org_t", Json::object()));
      scope_ = {org.internal_id, "ns_t"};
      return w.Insert(storage::Kind::kNamespace, {org.internal_id, ""},
                      {"ns_t", "", std::string("t"), std::nullopt, std::nullopt, Json::object()});
    }).ok());
    auto bucket = catalog::CreateBucket(
        *store_, scope_,
        {{"bucket_name", "b"}, {"bucket_schema", {{"properties", {{"t", {{"type", "text"}}}, {"n", {{"type", "integer"}}}}}}}});
    ASSERT_TRUE(bucket.ok()) << bucket.status().message();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ObjectContext Ctx() { return ObjectContext{*store_, *keeper_, {}, scope_}; }

  Json TextObject(const std::string& text, int n) {
    return {{"n", n}, {"blobs", {{{"property", "t"}, {"type", "text"}, {"data", text}}}}};
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<storage::BlobStore> blob_store_;
  std::unique_ptr<BlobKeeper> keeper_;
  storage::Scope scope_;
};

// Writers keep creating objects whose blob is one of a few shared contents
// while deleters remove objects: a file shared by a live object must never be
// unlinked by the delete of another (the race BlobKeeper closes).
TEST_F(ObjectsTest, SharedBlobsSurviveConcurrentCreatesAndDeletes) {
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = Ctx();
      for (int i = 0; i < 300; ++i) {
        auto r = CreateObject(ctx, "b", TextObject("shared content " + std::to_string(i % 2), t * 1000 + i), {});
        ASSERT_TRUE(r.ok()) << r.status().message();
        ++created;
      }
    });
  }
  threads.emplace_back([&] {
    auto ctx = Ctx();
    while (!stop) {
      auto page = ListObjects(ctx, "b", Json::object(), {{"limit", "1"}});
      ASSERT_TRUE(page.ok());
      for (const auto& o : (*page)["results"]) (void)DeleteObject(ctx, "b", o["object_id"]);
    }
  });
  for (int t = 0; t < 3; ++t) threads[t].join();
  stop = true;
  threads.back().join();

  // Every surviving object's blob is on disk with the right bytes.
  auto ctx = Ctx();
  auto all = ListObjects(ctx, "b", Json::object(), {{"limit", "1000"}});
  ASSERT_TRUE(all.ok());
  for (const auto& o : (*all)["results"]) {
    std::string sha = o["blobs"][0]["details"]["hash"];
    auto bytes = blob_store_->ReadAll(sha);
    ASSERT_TRUE(bytes.ok()) << "blob of " << o["object_id"] << " is gone";
    EXPECT_EQ(Sha256Hex(*bytes), sha);
  }
  // Deleting the rest frees every file.
  for (const auto& o : (*all)["results"]) ASSERT_TRUE(DeleteObject(ctx, "b", o["object_id"]).ok());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(blob_store_->Exists(Sha256Hex("shared content " + std::to_string(i))));
}

TEST_F(ObjectsTest, FailedCreateLeavesNoRowAndNoFile) {
  auto ctx = Ctx();
  // The second blob is invalid: the first must not be stored either.
  Json body = {{"n", 1},
               {"blobs", {{{"property", "t"}, {"type", "text"}, {"data", "orphan candidate"}},
                          {{"property", "n"}, {"type", "text"}, {"data", "x"}}}}};
  EXPECT_FALSE(CreateObject(ctx, "b", body, {}).ok());
  EXPECT_FALSE(blob_store_->Exists(Sha256Hex("orphan candidate")));
  auto all = ListObjects(ctx, "b", Json::object(), {{"include_total", "true"}});
  EXPECT_EQ((*all)["pagination"]["total"], 0);
  // and nothing was left in the staging area
  size_t staged = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "blobs" / "tmp")) {
    (void)e;
    ++staged;
  }
  EXPECT_EQ(staged, 0u);
}

TEST_F(ObjectsTest, UpdateKeepsSharedBlobAndFreesReplacedOne) {
  auto ctx = Ctx();
  auto a = CreateObject(ctx, "b", TextObject("first", 1), {});
  auto b = CreateObject(ctx, "b", TextObject("first", 2), {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(UpdateObject(ctx, "b", (*a)["object_id"], TextObject("second", 1), true).ok());
  EXPECT_TRUE(blob_store_->Exists(Sha256Hex("first")));  // b still uses it
  ASSERT_TRUE(UpdateObject(ctx, "b", (*b)["object_id"], TextObject("third", 2), true).ok());
  EXPECT_FALSE(blob_store_->Exists(Sha256Hex("first")));
  EXPECT_TRUE(blob_store_->Exists(Sha256Hex("second")));
  EXPECT_TRUE(blob_store_->Exists(Sha256Hex("third")));
}

// The bucket is deleted while a create is still fetching its blob: the create
// must fail rather than leave an object (and a blob reference) behind.
TEST_F(ObjectsTest, BucketDeletedDuringCreateLeavesNothing) {
  httplib::Server slow;
  slow.Get("/slow.txt", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content("slow text", "text/plain");
  });
  int port = slow.bind_to_any_port("127.0.0.1");
  std::thread server([&] { slow.listen_after_bind(); });
  auto ctx = Ctx();
  ctx.blob_options.fetch.allow_private_addresses = true;
  Json body = {{"n", 1},
               {"blobs", {{{"property", "t"}, {"type", "text"},
                           {"data", "http://127.0.0.1:" + std::to_string(port) + "/slow.txt"}}}}};
  Result<Json> created = Status::Internal("not run");
  std::thread creator([&] { created = CreateObject(ctx, "b", body, {}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the fetch is under way
  ASSERT_TRUE(catalog::DeleteBucket(*store_, scope_, "b").ok());
  creator.join();
  slow.stop();
  server.join();
  EXPECT_EQ(created.status().code(), StatusCode::kNotFound) << created.status().message();
  store_->Read([&](storage::Reader& r) -> Status {
    EXPECT_EQ(*r.Count(storage::Kind::kObject, scope_, std::nullopt), 0);
    return Status::Ok();
  });
  EXPECT_FALSE(blob_store_->Exists(Sha256Hex("slow text")));
  EXPECT_FALSE(*store_->IsBlobReferenced(Sha256Hex("slow text")));
}

}  // namespace
}  // namespace strata::ingest
