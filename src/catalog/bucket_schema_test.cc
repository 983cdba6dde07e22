#include "catalog/bucket_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace strata::catalog {
namespace {

using ::testing::HasSubstr;
using Blobs = std::vector<std::pair<std::string, std::string>>;

// (location, type) of every validation error of a status.
std::set<std::pair<std::string, std::string>> Errors(const Status& st) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& e : st.details().value("validation_errors", Json::array())) {
    out.emplace(e["location"].get<std::string>(), e["type"].get<std::string>());
  }
  return out;
}

std::string Messages(const Status& st) { return st.details().dump(); }

Json Schema(const Json& properties) {
  auto s = ValidateBucketSchema({{"properties", properties}}, "body.bucket_schema");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : Json();
}

Status SchemaError(const Json& properties) {
  auto s = ValidateBucketSchema({{"properties", properties}}, "body.bucket_schema");
  EXPECT_FALSE(s.ok()) << properties.dump();
  return s.status();
}

// One metadata field `f` of the given definition, validated with value `v`.
Result<ObjectFields> One(const Json& field, const Json& v) {
  Json schema = Schema({{"f", field}});
  return ValidateObject(schema, {{"f", v}}, {});
}

// ---------------------------------------------------------------------------
// Type sets.

TEST(FieldTypes, BlobAndMetadataSetsAreDisjointAndComplete) {
  for (auto t : {"text", "image", "audio", "video", "pdf", "excel"}) {
    EXPECT_TRUE(IsBlobFieldType(t)) << t;
    EXPECT_FALSE(IsMetadataFieldType(t)) << t;
  }
  for (auto t : {"string", "number", "integer", "float", "boolean", "object", "array", "date", "datetime"}) {
    EXPECT_TRUE(IsMetadataFieldType(t)) << t;
    EXPECT_FALSE(IsBlobFieldType(t)) << t;
  }
  for (auto t : {"json", "url", "String", "", "int"}) {
    EXPECT_FALSE(IsMetadataFieldType(t)) << t;
    EXPECT_FALSE(IsBlobFieldType(t)) << t;
  }
}

// ---------------------------------------------------------------------------
// ValidateBucketSchema.

TEST(BucketSchema, AcceptsAllFifteenTypesAndNormalises) {
  Json props = Json::object();
  for (auto t : {"string", "number", "integer", "float", "boolean", "object", "array", "date", "datetime", "text",
                 "image", "audio", "video", "pdf", "excel"}) {
    props[std::string("f_") + t] = {{"type", t}};
  }
  Json s = Schema(props);
  ASSERT_EQ(s["properties"].size(), 15u);
  for (auto& [name, field] : s["properties"].items()) {
    EXPECT_EQ(field["required"], false) << name;
    EXPECT_TRUE(field["type"].is_string()) << name;
  }
}

TEST(BucketSchema, DropsNullOptionalKeysAsTypedSdksSendThem) {
  Json s = Schema({{"title", {{"type", "string"}, {"required", nullptr}, {"default", nullptr},
                              {"description", nullptr}, {"enum", nullptr}, {"examples", nullptr},
                              {"items", nullptr}, {"properties", nullptr}}},
                   {"photo", {{"type", "image"}, {"enum", nullptr}, {"default", nullptr}}}});
  EXPECT_EQ(s["properties"]["title"], Json({{"type", "string"}, {"required", false}}));
  EXPECT_EQ(s["properties"]["photo"], Json({{"type", "image"}, {"required", false}}));
}

TEST(BucketSchema, KeepsDescriptionExamplesEnumDefault) {
  Json s = Schema({{"category", {{"type", "string"}, {"required", true}, {"description", "section"},
                                 {"examples", {"news"}}, {"enum", {"news", "sports"}}, {"default", "news"}}}});
  EXPECT_EQ(s["properties"]["category"],
            Json({{"type", "string"}, {"required", true}, {"description", "section"}, {"examples", {"news"}},
                  {"enum", {"news", "sports"}}, {"default", "news"}}));
}

TEST(BucketSchema, RejectsJsonAndUrlTypesWithGuidance) {
  Status st = SchemaError({{"a", {{"type", "json"}}}, {"b", {{"type", "url"}}}, {"c", {{"type", "String"}}},
                           {"d", {{"type", "blob"}}}});
  EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                            {"body.bucket_schema.properties.a.type", "enum"},
                            {"body.bucket_schema.properties.b.type", "enum"},
                            {"body.bucket_schema.properties.c.type", "enum"},
                            {"body.bucket_schema.properties.d.type", "enum"}}));
  EXPECT_THAT(Messages(st), HasSubstr("'json' is not a bucket field type; use 'object' (metadata) or one of the "
                                      "blob types text, image, audio, video, pdf, excel"));
  EXPECT_THAT(Messages(st), HasSubstr("'url' is not a bucket field type"));
  EXPECT_THAT(Messages(st), HasSubstr("use 'string'"));
}

TEST(BucketSchema, ReportsEveryProblemAtItsLocation) {
  // The API test's case: a bad type, a default of the wrong type, a default
  // outside the enum, plus the structural mistakes.
  Status st = SchemaError({{"a", {{"type", "json"}}},
                           {"b", {{"type", "integer"}, {"default", "x"}}},
                           {"c", {{"type", "string"}, {"enum", {"x"}}, {"default", "y"}}},
                           {"d", {{"required", true}}},
                           {"e", {{"type", "string"}, {"required", "yes"}, {"format", "email"}}},
                           {"f", "string"},
                           {"g", {{"type", 5}}},
                           {"h", {{"type", "string"}, {"description", 3}, {"examples", "x"}}}});
  EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                            {"body.bucket_schema.properties.a.type", "enum"},
                            {"body.bucket_schema.properties.b.default", "type_error"},
                            {"body.bucket_schema.properties.c.default", "enum"},
                            {"body.bucket_schema.properties.d.type", "missing"},
                            {"body.bucket_schema.properties.e.required", "type_error"},
                            {"body.bucket_schema.properties.e.format", "unknown_field"},
                            {"body.bucket_schema.properties.f", "type_error"},
                            {"body.bucket_schema.properties.g.type", "type_error"},
                            {"body.bucket_schema.properties.h.description", "type_error"},
                            {"body.bucket_schema.properties.h.examples", "type_error"}}));
}

TEST(BucketSchema, TopLevelShape) {
  EXPECT_EQ(Errors(ValidateBucketSchema("nope", "body.bucket_schema").status()),
            (std::set<std::pair<std::string, std::string>>{{"body.bucket_schema", "type_error"}}));
  EXPECT_EQ(Errors(ValidateBucketSchema(Json::object(), "body.bucket_schema").status()),
            (std::set<std::pair<std::string, std::string>>{{"body.bucket_schema.properties", "missing"}}));
  EXPECT_EQ(Errors(ValidateBucketSchema({{"properties", {1}}, {"type", "object"}}, "body.s").status()),
            (std::set<std::pair<std::string, std::string>>{{"body.s.properties", "type_error"},
                                                           {"body.s.type", "unknown_field"}}));
  auto empty = ValidateBucketSchema({{"properties", Json::object()}}, "body.s");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, Json({{"properties", Json::object()}}));
}

TEST(BucketSchema, EnumValuesMustMatchTheTypeAndBeDistinct) {
  Status st = SchemaError({{"n", {{"type", "integer"}, {"enum", {1, 2.5, "3", 1.0}}}},
                           {"e", {{"type", "string"}, {"enum", Json::array()}}},
                           {"z", {{"type", "string"}, {"enum", {"a", nullptr}}}},
                           {"d", {{"type", "date"}, {"enum", {"2024-01-01", "2024-02-30"}}}}});
  EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                            {"body.bucket_schema.properties.n.enum[1]", "type_error"},
                            {"body.bucket_schema.properties.n.enum[2]", "type_error"},
                            {"body.bucket_schema.properties.n.enum[3]", "value_error"},  // 1.0 duplicates 1
                            {"body.bucket_schema.properties.e.enum", "type_error"},
                            {"body.bucket_schema.properties.z.enum[1]", "type_error"},
                            {"body.bucket_schema.properties.d.enum[1]", "type_error"}}));
}

TEST(BucketSchema, DefaultIsNormalisedAndMayBeFalsy) {
  Json s = Schema({{"n", {{"type", "integer"}, {"default", 0.0}}},
                   {"b", {{"type", "boolean"}, {"default", false}}},
                   {"s", {{"type", "string"}, {"default", ""}}}});
  EXPECT_TRUE(s["properties"]["n"]["default"].is_number_integer());
  EXPECT_EQ(s["properties"]["b"]["default"], false);
  EXPECT_EQ(s["properties"]["s"]["default"], "");
}

TEST(BucketSchema, BlobFieldsTakeNoValueKeysAndStayTopLevel) {
  Json ok = Schema({{"content", {{"type", "text"}, {"required", true}, {"description", "body"},
                                 {"examples", {"hello"}}}}});
  EXPECT_EQ(ok["properties"]["content"]["required"], true);
  Status st = SchemaError({{"photo", {{"type", "image"}, {"enum", {"a"}}, {"default", "a"},
                                      {"items", {{"type", "string"}}}, {"properties", Json::object()}}},
                           {"list", {{"type", "array"}, {"items", {{"type", "pdf"}}}}},
                           {"obj", {{"type", "object"}, {"properties", {{"scan", {{"type", "image"}}}}}}}});
  EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                            {"body.bucket_schema.properties.photo.enum", "value_error"},
                            {"body.bucket_schema.properties.photo.default", "value_error"},
                            {"body.bucket_schema.properties.photo.items", "value_error"},
                            {"body.bucket_schema.properties.photo.properties", "value_error"},
                            {"body.bucket_schema.properties.list.items.type", "value_error"},
                            {"body.bucket_schema.properties.obj.properties.scan.type", "value_error"}}));
}

TEST(BucketSchema, ItemsOnlyForArraysPropertiesOnlyForObjects) {
  Status st = SchemaError({{"s", {{"type", "string"}, {"items", {{"type", "string"}}}}},
                           {"a", {{"type", "array"}, {"properties", Json::object()}}},
                           {"o", {{"type", "object"}, {"properties", {{"bad name", {{"type", "string"}}}}}}}});
  EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                            {"body.bucket_schema.properties.s.items", "value_error"},
                            {"body.bucket_schema.properties.a.properties", "value_error"},
                            {"body.bucket_schema.properties.o.properties.bad name", "value_error"}}));
}

TEST(BucketSchema, NestsToDepthEight) {
  auto nest = [](int levels) {  // `levels` array fields, one inside the other
    Json f = {{"type", "string"}};
    for (int i = 1; i < levels; ++i) f = {{"type", "array"}, {"items", f}};
    return f;
  };
  Json s = Schema({{"deep", nest(8)}});
  EXPECT_EQ(s["properties"]["deep"]["items"]["items"]["items"]["items"]["items"]["items"]["items"]["type"],
            "string");
  Status st = SchemaError({{"deep", nest(9)}});
  ASSERT_EQ(Errors(st).size(), 1u);
  EXPECT_THAT(Errors(st).begin()->first, HasSubstr(".items.items.items.items.items.items.items"));
}

TEST(BucketSchema, FieldNames) {
  Schema({{"a", {{"type", "string"}}}, {"A-b_9", {{"type", "string"}}}, {std::string(128, 'x'), {{"type", "string"}}}});
  Json bad = Json::object();
  for (const std::string& name :
       std::vector<std::string>{"", "has space", "dot.ted", "_private", std::string(129, 'x'), "\xc3\xa9"}) {
    bad[name] = {{"type", "string"}};
  }
  EXPECT_EQ(Errors(SchemaError(bad)).size(), 6u);
}

TEST(BucketSchema, ReservedObjectKeysAreNotFieldNames) {
  for (auto name : {"object_id", "bucket_id", "blobs", "key_prefix", "status", "created_at", "updated_at", "metadata",
                    "source_details", "error", "skip_duplicates", "canonicalize_source", "force_remirror"}) {
    Status st = SchemaError({{name, {{"type", "string"}}}});
    EXPECT_EQ(Errors(st), (std::set<std::pair<std::string, std::string>>{
                              {std::string("body.bucket_schema.properties.") + name, "value_error"}}))
        << name;
    EXPECT_THAT(st.message(), HasSubstr("reserved"));
  }
  // Inside an object field the names do not collide with the object's keys.
  Schema({{"source", {{"type", "object"}, {"properties", {{"status", {{"type", "string"}}}}}}}});
}

// ---------------------------------------------------------------------------
// ValidateUniqueKey.

TEST(UniqueKey, Validation) {
  Json s = Schema({{"sku", {{"type", "string"}}}, {"year", {{"type", "integer"}}}, {"photo", {{"type", "image"}}}});
  EXPECT_TRUE(ValidateUniqueKey({{"fields", {"sku"}}}, s, "body.unique_key").ok());
  EXPECT_TRUE(ValidateUniqueKey({{"fields", {"sku", "year"}}, {"default_policy", "upsert"}}, s, "k").ok());
  EXPECT_TRUE(ValidateUniqueKey({{"fields", {"sku"}}, {"default_policy", nullptr}}, s, "k").ok());
  EXPECT_EQ(Errors(ValidateUniqueKey({{"fields", {"nope", "photo", "sku", "sku", 3}}, {"default_policy", "merge"},
                                      {"extra", 1}},
                                     s, "body.unique_key")),
            (std::set<std::pair<std::string, std::string>>{{"body.unique_key.fields[0]", "unknown_field"},
                                                           {"body.unique_key.fields[1]", "value_error"},
                                                           {"body.unique_key.fields[3]", "value_error"},
                                                           {"body.unique_key.fields[4]", "type_error"},
                                                           {"body.unique_key.default_policy", "enum"},
                                                           {"body.unique_key.extra", "unknown_field"}}));
  EXPECT_EQ(Errors(ValidateUniqueKey({{"fields", Json::array()}}, s, "k")),
            (std::set<std::pair<std::string, std::string>>{{"k.fields", "type_error"}}));
  Json nine = Json::array();
  for (int i = 0; i < 9; ++i) nine.push_back("sku");
  EXPECT_FALSE(ValidateUniqueKey({{"fields", nine}}, s, "k").ok());
  EXPECT_EQ(Errors(ValidateUniqueKey(Json::object(), s, "k")),
            (std::set<std::pair<std::string, std::string>>{{"k.fields", "missing"}}));
  EXPECT_FALSE(ValidateUniqueKey("sku", s, "k").ok());
}

// ---------------------------------------------------------------------------
// ValidateObject: each metadata type.

TEST(ObjectTypes, String) {
  EXPECT_TRUE(One({{"type", "string"}}, "x").ok());
  EXPECT_TRUE(One({{"type", "string"}}, "").ok());
  for (Json bad : {Json(1), Json(true), Json::array(), Json::object()}) {
    EXPECT_EQ(Errors(One({{"type", "string"}}, bad).status()),
              (std::set<std::pair<std::string, std::string>>{{"body.f", "type_error"}}))
        << bad;
  }
}

TEST(ObjectTypes, NumberAndFloatAcceptAnyNumber) {
  for (auto t : {"number", "float"}) {
    for (Json good : {Json(1), Json(-2), Json(2.5), Json(18446744073709551615ULL)}) {
      auto r = One({{"type", t}}, good);
      ASSERT_TRUE(r.ok()) << t << " " << good;
      EXPECT_EQ(r->metadata["f"], good);
    }
    for (Json bad : {Json("1"), Json(true), Json::array()}) EXPECT_FALSE(One({{"type", t}}, bad).ok()) << t << bad;
  }
}

TEST(ObjectTypes, IntegerAcceptsIntegralNumbersAndStoresThemAsIntegers) {
  auto r = One({{"type", "integer"}}, 3.0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->metadata["f"].is_number_integer());
  EXPECT_EQ(r->metadata["f"], 3);
  EXPECT_TRUE(One({{"type", "integer"}}, -7).ok());
  EXPECT_TRUE(One({{"type", "integer"}}, 18446744073709551615ULL).ok());
  for (Json bad : {Json(3.5), Json("3"), Json(false)}) {
    EXPECT_EQ(Errors(One({{"type", "integer"}}, bad).status()),
              (std::set<std::pair<std::string, std::string>>{{"body.f", "type_error"}}))
        << bad;
  }
}

TEST(ObjectTypes, BooleanOnlyTrueOrFalse) {
  EXPECT_TRUE(One({{"type", "boolean"}}, true).ok());
  EXPECT_TRUE(One({{"type", "boolean"}}, false).ok());
  for (Json bad : {Json(0), Json(1), Json("true")}) EXPECT_FALSE(One({{"type", "boolean"}}, bad).ok()) << bad;
}

TEST(ObjectTypes, DateAndDatetime) {
  EXPECT_TRUE(One({{"type", "date"}}, "2024-02-29").ok());
  for (Json bad : {Json("2023-02-29"), Json("2024-1-1"), Json("2024-01-01T00:00:00Z"), Json(20240101)}) {
    EXPECT_FALSE(One({{"type", "date"}}, bad).ok()) << bad;
  }
  EXPECT_TRUE(One({{"type", "datetime"}}, "2024-05-01T12:00:00Z").ok());
  EXPECT_TRUE(One({{"type", "datetime"}}, "2024-05-01T12:00:00.5+02:00").ok());
  for (Json bad : {Json("2024-05-01"), Json("yesterday"), Json(1714564800)}) {
    EXPECT_FALSE(One({{"type", "datetime"}}, bad).ok()) << bad;
  }
}

TEST(ObjectTypes, ObjectAndArrayWithoutSubschemaTakeAnyContent) {
  Json any = {{"a", {1, "x", nullptr}}, {"b", {{"c", true}}}};
  auto r = One({{"type", "object"}}, any);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata["f"], any);
  EXPECT_TRUE(One({{"type", "array"}}, {1, "x", Json::object()}).ok());
  EXPECT_FALSE(One({{"type", "object"}}, Json::array()).ok());
  EXPECT_FALSE(One({{"type", "array"}}, Json::object()).ok());
  EXPECT_FALSE(One({{"type", "array"}}, "a,b").ok());
}

TEST(ObjectTypes, BlobFieldsTakeNoMetadataValue) {
  for (auto t : {"text", "image", "audio", "video", "pdf", "excel"}) {
    Json s = Schema({{"f", {{"type", t}}}});
    auto r = ValidateObject(s, {{"f", "some value"}}, {});
    EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.f", "type_error"}})) << t;
    EXPECT_THAT(r.status().message(), HasSubstr("blobs"));
    EXPECT_TRUE(ValidateObject(s, Json::object(), {{"f", t}}).ok()) << t;
  }
}

// ---------------------------------------------------------------------------
// ValidateObject: enum, default, required, nesting, closed schema.

TEST(Object, EnumMembershipIsExact) {
  Json s = Schema({{"category", {{"type", "string"}, {"enum", {"news", "sports"}}}},
                   {"level", {{"type", "integer"}, {"enum", {1, 2}}}}});
  EXPECT_TRUE(ValidateObject(s, {{"category", "news"}, {"level", 2.0}}, {}).ok());
  auto r = ValidateObject(s, {{"category", "NEWS"}, {"level", 3}}, {});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.category", "enum"},
                                                                                {"body.level", "enum"}}));
  EXPECT_THAT(Messages(r.status()), HasSubstr("news"));
}

TEST(Object, DefaultsFillAbsentAndNullFields) {
  Json s = Schema({{"year", {{"type", "integer"}, {"default", 2024}}},
                   {"draft", {{"type", "boolean"}, {"default", false}}},
                   {"title", {{"type", "string"}}}});
  auto r = ValidateObject(s, {{"draft", nullptr}}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata, Json({{"year", 2024}, {"draft", false}}));  // null is absence; no default, no key
  r = ValidateObject(s, {{"year", 1999}, {"title", "t"}}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata, Json({{"year", 1999}, {"draft", false}, {"title", "t"}}));
}

TEST(Object, RequiredMetadataMustBePresentAndNotNull) {
  Json s = Schema({{"sku", {{"type", "string"}, {"required", true}}},
                   {"n", {{"type", "integer"}, {"required", true}}},
                   {"y", {{"type", "integer"}, {"required", true}, {"default", 1}}}});
  auto r = ValidateObject(s, {{"n", nullptr}}, {});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.sku", "missing"},
                                                                                {"body.n", "missing"}}));
  r = ValidateObject(s, {{"sku", "a"}, {"n", 1}}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata["y"], 1);
}

TEST(Object, NestedObjectsAndArraysAreCheckedWithPaths) {
  Json s = Schema({{"address", {{"type", "object"},
                                {"properties", {{"city", {{"type", "string"}, {"required", true}}},
                                                {"zip", {{"type", "string"}}},
                                                {"country", {{"type", "string"}, {"default", "NL"}}}}}}},
                   {"tags", {{"type", "array"}, {"items", {{"type", "string"}, {"enum", {"a", "b"}}}}}},
                   {"points", {{"type", "array"},
                               {"items", {{"type", "object"},
                                          {"properties", {{"x", {{"type", "integer"}, {"required", true}}}}}}}}}});
  auto r = ValidateObject(s, {{"address", {{"city", "Delft"}}}, {"tags", {"a", "b", "a"}},
                              {"points", {{{"x", 1.0}}, {{"x", 2}}}}},
                          {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->metadata["address"], Json({{"city", "Delft"}, {"country", "NL"}}));
  EXPECT_TRUE(r->metadata["points"][0]["x"].is_number_integer());

  r = ValidateObject(s, {{"address", {{"zip", 2628}, {"street", "x"}}}, {"tags", {"a", 1, "c"}},
                         {"points", {{{"x", 1}}, Json::object(), 5}}},
                     {});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{
                                    {"body.address.city", "missing"},
                                    {"body.address.zip", "type_error"},
                                    {"body.address.street", "unknown_field"},
                                    {"body.tags[1]", "type_error"},
                                    {"body.tags[2]", "enum"},
                                    {"body.points[1].x", "missing"},
                                    {"body.points[2]", "type_error"}}));
}

TEST(Object, ClosedSchemaNamesTheUnknownKeyAndListsFields) {
  Json s = Schema({{"title", {{"type", "string"}}}, {"year", {{"type", "integer"}}}});
  auto r = ValidateObject(s, {{"colour", "red"}}, {});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.colour", "unknown_field"}}));
  EXPECT_THAT(r.status().message(), HasSubstr("'colour'"));
  EXPECT_THAT(r.status().message(), HasSubstr("title, year"));
  EXPECT_FALSE(ValidateObject(s, "not an object", {}).ok());
}

// ---------------------------------------------------------------------------
// ValidateObject: blobs.

TEST(ObjectBlobs, PropertyMustBeABlobFieldOfTheDeclaredType) {
  Json s = Schema({{"content", {{"type", "text"}}}, {"photo", {{"type", "image"}}}, {"year", {{"type", "integer"}}}});
  EXPECT_TRUE(ValidateObject(s, Json::object(), {{"photo", "image"}, {"content", "text"}}).ok());
  auto r = ValidateObject(s, Json::object(), {{"photo", "pdf"}, {"year", "text"}, {"nope", "image"}, {"content", "text"}});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{
                                    {"body.blobs[0].type", "blob_type_mismatch"},
                                    {"body.blobs[1].property", "blob_type_mismatch"},
                                    {"body.blobs[2].property", "unknown_field"}}));
  EXPECT_THAT(Messages(r.status()), HasSubstr("'photo' holds image blobs, not 'pdf'"));
}

TEST(ObjectBlobs, RequiredBlobFieldNeedsABlob) {
  Json s = Schema({{"content", {{"type", "text"}, {"required", true}}},
                   {"scan", {{"type", "pdf"}, {"required", true}}},
                   {"photo", {{"type", "image"}}}});
  auto r = ValidateObject(s, Json::object(), {{"photo", "image"}});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.content", "missing"},
                                                                                {"body.scan", "missing"}}));
  EXPECT_TRUE(ValidateObject(s, Json::object(), {{"scan", "pdf"}, {"content", "text"}}).ok());
  // A required blob given with the wrong type is a mismatch, not also "missing".
  r = ValidateObject(s, Json::object(), {{"scan", "pdf"}, {"content", "image"}});
  EXPECT_EQ(Errors(r.status()),
            (std::set<std::pair<std::string, std::string>>{{"body.blobs[1].type", "blob_type_mismatch"}}));
}

TEST(Object, AllErrorsReportedTogether) {
  Json s = Schema({{"content", {{"type", "text"}, {"required", true}}},
                   {"category", {{"type", "string"}, {"enum", {"news"}}}},
                   {"year", {{"type", "integer"}}},
                   {"sku", {{"type", "string"}, {"required", true}}}});
  auto r = ValidateObject(s, {{"category", "weather"}, {"year", "2024"}, {"colour", "red"}}, {{"photo", "image"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{
                                    {"body.category", "enum"},
                                    {"body.year", "type_error"},
                                    {"body.colour", "unknown_field"},
                                    {"body.sku", "missing"},
                                    {"body.content", "missing"},
                                    {"body.blobs[0].property", "unknown_field"}}));
  EXPECT_THAT(r.status().message(), HasSubstr("(and 5 more)"));
}

// ---------------------------------------------------------------------------
// UniqueKeyValue.

TEST(UniqueKeyValueTest, CanonicalString) {
  Json uk = {{"fields", {"sku", "year"}}};
  auto a = UniqueKeyValue(uk, {{"year", 2024}, {"sku", "A-1"}, {"other", 1}});
  auto b = UniqueKeyValue(uk, {{"sku", "A-1"}, {"year", 2024.0}});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, R"(["A-1",2024])");
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *UniqueKeyValue(uk, {{"sku", "a-1"}, {"year", 2024}}));  // strings are exact
  EXPECT_NE(*a, *UniqueKeyValue(uk, {{"sku", "A-1"}, {"year", 2024.5}}));
  // Field order matters: it is the order of `fields`, not of the metadata.
  EXPECT_NE(*a, *UniqueKeyValue({{"fields", {"year", "sku"}}}, {{"sku", "A-1"}, {"year", 2024}}));
}

TEST(UniqueKeyValueTest, NestedValuesAreCanonicalToo) {
  Json uk = {{"fields", {"k"}}};
  EXPECT_EQ(*UniqueKeyValue(uk, {{"k", {{"b", 1.0}, {"a", {-0.0, 2}}}}}),
            *UniqueKeyValue(uk, {{"k", {{"a", {0, 2.0}}, {"b", 1}}}}));
  EXPECT_EQ(*UniqueKeyValue(uk, {{"k", 1e300}}), Json::array({1e300}).dump());  // too big for an integer
}

TEST(UniqueKeyValueTest, MissingOrNullFieldsAreReported) {
  Json uk = {{"fields", {"sku", "year"}}};
  auto r = UniqueKeyValue(uk, {{"sku", nullptr}});
  EXPECT_EQ(Errors(r.status()), (std::set<std::pair<std::string, std::string>>{{"body.sku", "missing"},
                                                                                {"body.year", "missing"}}));
  EXPECT_THAT(Messages(r.status()), HasSubstr("unique key field missing"));
  r = UniqueKeyValue(uk, {{"sku", "x"}});
  EXPECT_EQ(r.status().message(), "body.year: unique key field missing");
  EXPECT_FALSE(UniqueKeyValue(Json::object(), {{"sku", "x"}}).ok());
}

}  // namespace
}  // namespace strata::catalog
