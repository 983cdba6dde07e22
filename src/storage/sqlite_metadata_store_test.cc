#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/crypto.h"
#include "filter/filter.h"
#include "storage/metadata_store.h"

namespace strata::storage {
namespace {

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-store-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    Reopen();
    ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto a, w.CreateOrganization("org_a", Json::object()));
      ASSIGN_OR_RETURN(auto b, w.CreateOrganization("org_b", Json::object()));
      org_a_ = a.internal_id;
      org_b_ = b.internal_id;
      for (auto [org, ns] : {std::pair{org_a_, "ns_1"}, {org_a_, "ns_2"}, {org_b_, "ns_b"}}) {
        RETURN_IF_ERROR(w.Insert(Kind::kNamespace, Scope{org, ""},
                                 Record{ns, "", std::string(ns), std::nullopt, std::nullopt, Json::object()}));
      }
      return Status::Ok();
    }).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = OpenSqliteMetadataStore((dir_ / "t.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  Status Insert(const Scope& scope, const std::string& id, Json doc, std::optional<std::string> name = {},
                const std::string& parent = "bkt_1") {
    return store_->Write([&](Writer& w) {
      return w.Insert(Kind::kObject, scope, Record{id, parent, name, std::nullopt, std::nullopt, doc});
    });
  }
  ListPage List(const Scope& scope, ListQuery q) {
    ListPage page;
    Status st = store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(page, r.List(Kind::kObject, scope, q));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return page;
  }

  std::filesystem::path dir_;
  std::unique_ptr<MetadataStore> store_;
  int64_t org_a_ = 0, org_b_ = 0;
};

TEST_F(MetadataStoreTest, EveryReadIsScopedByOrganizationAndNamespace) {
  Scope a{org_a_, "ns_1"}, a2{org_a_, "ns_2"}, b{org_b_, "ns_b"};
  // nothing can be written into another organization's namespace
  EXPECT_EQ(Insert(Scope{org_b_, "ns_1"}, "obj_0", {{"x", 0}}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(Insert(a, "obj_1", {{"x", 1}}, "one").ok());
  store_->Read([&](Reader& r) -> Status {
    EXPECT_TRUE(r.Get(Kind::kObject, a, "obj_1").ok());
    EXPECT_TRUE(r.Get(Kind::kObject, a, "one").ok());
    EXPECT_EQ(r.Get(Kind::kObject, a2, "obj_1").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(r.Get(Kind::kObject, b, "obj_1").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(r.Get(Kind::kObject, b, "one").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(*r.Count(Kind::kObject, b, std::nullopt), 0);
    return Status::Ok();
  });
  EXPECT_EQ(List(b, {}).records.size(), 0u);
  // writes through another scope touch nothing
  EXPECT_EQ(store_->Write([&](Writer& w) { return w.Delete(Kind::kObject, b, "obj_1"); }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->Write([&](Writer& w) {
              return w.Update(Kind::kObject, b, Record{"obj_1", "bkt_1", std::nullopt, std::nullopt, std::nullopt,
                                                       Json{{"x", 2}}});
            }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(List(a, {}).records.at(0).doc["x"], 1);
  // the same name is free in another namespace and organization
  EXPECT_TRUE(Insert(b, "obj_2", {{"x", 1}}, "one").ok());
  EXPECT_EQ(Insert(a, "obj_3", {{"x", 1}}, "one").code(), StatusCode::kAlreadyExists);
}

TEST_F(MetadataStoreTest, FailedWriteLeavesNothing) {
  Scope a{org_a_, "ns_1"};
  Status st = store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.Insert(Kind::kObject, a, Record{"obj_x", "bkt_1", std::nullopt, std::nullopt, std::nullopt, Json{{"a", 1}}}));
    RETURN_IF_ERROR(w.AddBlobRef({std::string(64, 'a'), 3, "text/plain"}, "obj_x"));
    return Status::Invalid("body", "late failure");
  });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  EXPECT_TRUE(List(a, {}).records.empty());
  EXPECT_FALSE(*store_->IsBlobReferenced(std::string(64, 'a')));
}

TEST_F(MetadataStoreTest, CursorWalksEveryRowOnceUnderTiesAndNulls) {
  Scope a{org_a_, "ns_1"};
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    for (int i = 0; i < 95; ++i) {
      Json doc = {{"i", i}};
      if (i % 5 != 0) doc["k"] = i % 7;  // ties, and every fifth row has no key
      if (i % 11 == 0) doc["k"] = "text";  // mixed types sort after numbers
      RETURN_IF_ERROR(w.Insert(Kind::kObject, a, Record{"obj_" + std::to_string(i), "bkt_1", std::nullopt,
                                                        std::nullopt, std::nullopt, doc}));
    }
    return Status::Ok();
  }).ok());
  // `text` is evaluated in memory, so this filter exercises the inexact scan.
  auto text = filter::Parse(Json{{"OR", {{{"field", "i"}, {"operator", "gte"}, {"value", 10}},
                                         {{"field", "k"}, {"operator", "text"}, {"value", "text"}}}}});
  ASSERT_TRUE(text.ok());
  for (bool desc : {false, true}) {
    for (const filter::Node* f : std::vector<const filter::Node*>{nullptr, &text.value()}) {
      ListQuery q;
      q.sort = {"k", desc};
      q.limit = 7;
      q.filter = f;
      std::vector<int> seen;
      while (true) {
        ListPage page = List(a, q);
        for (auto& r : page.records) seen.push_back(r.doc["i"].get<int>());
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
      }
      std::set<int> unique(seen.begin(), seen.end());
      EXPECT_EQ(unique.size(), seen.size());
      EXPECT_EQ(seen.size(), f ? 86u : 95u);  // i >= 10, plus i = 0 whose k is "text"
    }
  }
  // offset pagination with a total
  ListQuery q;
  q.limit = 10;
  q.offset = 90;
  q.include_total = true;
  ListPage last = List(a, q);
  EXPECT_EQ(last.records.size(), 5u);
  EXPECT_EQ(*last.total, 95);
  EXPECT_TRUE(last.next_cursor.empty());
  // a cursor is bound to its sort
  ListQuery other;
  other.sort = {"i", false};
  other.cursor = List(a, [] { ListQuery x; x.sort = {"k", false}; x.limit = 3; return x; }()).next_cursor;
  Status st = store_->Read([&](Reader& r) { return r.List(Kind::kObject, a, other).status(); });
  EXPECT_EQ(st.code(), StatusCode::kBadRequest);
  other.cursor = "garbage!";
  st = store_->Read([&](Reader& r) { return r.List(Kind::kObject, a, other).status(); });
  EXPECT_EQ(st.code(), StatusCode::kBadRequest);
}

TEST_F(MetadataStoreTest, BlobRefsReportOrphansOnlyWhenLastOwnerGoes) {
  const std::string sha(64, 'b');
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.AddBlobRef({sha, 10, "image/png"}, "obj_1"));
    return w.AddBlobRef({sha, 10, "image/png"}, "obj_2");
  }).ok());
  std::vector<std::string> freed;
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    ASSIGN_OR_RETURN(freed, w.DropBlobRefs("obj_1"));
    return Status::Ok();
  }).ok());
  EXPECT_TRUE(freed.empty());
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    ASSIGN_OR_RETURN(freed, w.DropBlobRefs("obj_2"));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(freed, std::vector<std::string>{sha});
  EXPECT_FALSE(*store_->IsBlobReferenced(sha));
}

TEST_F(MetadataStoreTest, DataAndSchemaSurviveReopen) {
  Scope a{org_a_, "ns_1"};
  ASSERT_TRUE(Insert(a, "obj_1", {{"x", 1}}).ok());
  Reopen();  // migrations run again: nothing to do, nothing lost
  EXPECT_EQ(List(a, {}).records.size(), 1u);
}

TEST_F(MetadataStoreTest, AggregateGroupsInSql) {
  Scope a{org_a_, "ns_1"};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Insert(a, "obj_" + std::to_string(i), {{"c", i % 2 ? "odd" : "even"}, {"v", i}}).ok());
  AggregateSpec spec;
  spec.group_by = {"c"};
  spec.ops = {{"count", "", "n"}, {"sum", "v", "s"}, {"max", "v", "m"}, {"count_distinct", "v", "d"}};
  std::vector<AggregateRow> rows;
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(rows, r.Aggregate(Kind::kObject, a, spec));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.values["n"], 5);
    EXPECT_EQ(row.values["d"], 5);
    if (row.group["c"] == "odd") {
      EXPECT_EQ(row.values["s"].get<double>(), 25.0);
      EXPECT_EQ(row.values["m"], 9);
    }
  }
}

}  // namespace
}  // namespace strata::storage
