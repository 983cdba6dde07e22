#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/generation_cache.h"
#include "core/ids.h"
#include "core/json_util.h"
#include "core/status.h"
#include "core/time_util.h"

namespace strata {
namespace {

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.HexDigest(), Sha256Hex("abc"));
}

TEST(Crypto, HmacKnownVector) {  // RFC 4231 test case 2
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Base64RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
    EXPECT_EQ(Base64Decode(Base64UrlEncode(s)).value(), s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(Base64Decode("Zm9v!mFy").has_value());
  EXPECT_FALSE(Base64Decode("Zg==Zg").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(Crypto, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(Ids, PrefixAndUniqueness) {
  std::string a = NewId("obj_"), b = NewId("obj_");
  EXPECT_TRUE(HasIdPrefix(a, "obj_"));
  EXPECT_EQ(a.size(), 4u + 16u);
  EXPECT_NE(a, b);
  EXPECT_FALSE(HasIdPrefix("obj_", "obj_"));
  EXPECT_FALSE(HasIdPrefix("my-bucket", "bkt_"));
}

TEST(Time, ParsesAndFormats) {
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(ParseIso8601("2024-02-29").value(), 1709164800000LL);
  EXPECT_EQ(ParseIso8601("2024-02-29T01:00:00+01:00").value(), 1709164800000LL);
  EXPECT_EQ(FormatIso8601(1709164800123LL), "2024-02-29T00:00:00.123Z");
  EXPECT_FALSE(ParseIso8601("2023-02-29").has_value());
  EXPECT_FALSE(ParseIso8601("2024-13-01").has_value());
  EXPECT_FALSE(ParseIso8601("2024-01-01T25:00:00Z").has_value());
  EXPECT_TRUE(IsIsoDate("2024-01-31"));
  EXPECT_FALSE(IsIsoDate("2024-01-31T00:00:00Z"));
  EXPECT_TRUE(IsIsoDateTime("2024-01-31T10:00:00.5Z"));
  EXPECT_FALSE(IsIsoDateTime("yesterday"));
}

TEST(Json, ParseRejectsMalformedAndDeep) {
  EXPECT_TRUE(ParseJson(R"({"a": [1, 2, {"b": null}]})").ok());
  auto bad = ParseJson("{\"a\": ");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kBadRequest);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto too_deep = ParseJson(deep, 64);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("deeper"), std::string::npos);
  EXPECT_TRUE(ParseJson(deep, 128).ok());
}

TEST(Json, PathsSelectAndMergePatch) {
  Json doc = {{"a", {{"b", 1}, {"c", 2}}}, {"id", "x"}};
  EXPECT_EQ(*FindPath(doc, "a.b"), 1);
  EXPECT_EQ(FindPath(doc, "a.z"), nullptr);
  EXPECT_EQ(SelectPaths(doc, {"a.c"}, {"id"}), (Json{{"id", "x"}, {"a", {{"c", 2}}}}));
  MergePatch(doc, {{"a", {{"b", nullptr}, {"d", 3}}}});
  EXPECT_EQ(doc["a"], (Json{{"c", 2}, {"d", 3}}));
}

TEST(Status, ValidationCollectsAll) {
  ValidationErrors errs;
  EXPECT_TRUE(errs.ToStatus().ok());
  errs.Add("body.a", "field required", "missing");
  errs.Add("body.b", "must be an integer", "type_error");
  Status st = errs.ToStatus();
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  EXPECT_EQ(st.details()["validation_errors"].size(), 2u);
  EXPECT_EQ(st.details()["validation_errors"][1]["location"], "body.b");
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST(GenerationCache, StaleReadsAreNotCachedAndInvalidateDropsAll) {
  GenerationCache<int> cache(60000);
  uint64_t seen = cache.generation();
  cache.Put("a", 1, seen);
  EXPECT_EQ(cache.Get("a"), 1);
  // a reader that saw the old generation must not cache what it read
  uint64_t before_change = cache.generation();
  cache.Invalidate();
  cache.Put("b", 2, before_change);
  EXPECT_FALSE(cache.Get("b").has_value());
  EXPECT_FALSE(cache.Get("a").has_value());
  // an explicit earlier expiry wins over the TTL
  cache.Put("c", 3, cache.generation(), NowUnixMillis() - 1);
  EXPECT_FALSE(cache.Get("c").has_value());
}

}  // namespace
}  // namespace strata
