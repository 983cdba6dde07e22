#include "ingest/blob_source.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/crypto.h"

namespace strata::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

const std::string kPng =
    "\x89PNG\r\n\x1a\n"s
    "\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"s
    "\x00\x00\x00\x0dIDAT\x78\x9c\x63\x00\x01\x00\x00\x05\x00\x01\x0d\x0a\x2d\xb4"s
    "\x00\x00\x00\x00IEND\xae\x42\x60\x82"s;
// Bytes libmagic has no name for.
const std::string kOpaque = "\x47\x00\x11\x10\x00\x42\xf0\x25\x00\x01\xc1\x00\x00\x00"s;

const Json& FirstError(const Status& st) { return st.details()["validation_errors"][0]; }
std::string ErrorType(const Status& st) {
  if (st.code() != StatusCode::kValidation) return "(not a validation error)";
  return FirstError(st)["type"].get<std::string>();
}
std::string ErrorLocation(const Status& st) {
  return FirstError(st)["location"].get<std::string>();
}

class PngServer {
 public:
  PngServer() {
    server_.Get("/pic.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kPng, "image/png");
    });
    server_.Get("/latin1.txt", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("caf\xe9 cr\xe8me\n", "text/plain; charset=iso-8859-1");
    });
    server_.Get("/notes.md", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("# Title\n\nSome *markdown* d\xc3\xa9j\xc3\xa0 vu.\n", "text/markdown");
    });
    server_.Get("/stream.ts", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kOpaque, "video/MP2T");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~PngServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class BlobSourceTest : public ::testing::Test {
 protected:
  static constexpr char kLoc[] = "body.blobs[0].data";

  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("strata_source_test_" + RandomAlnum(12))).string();
    auto opened = storage::BlobStore::Open(root_);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    options_.fetch.allow_private_addresses = true;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  Result<ResolvedBlob> Resolve(const Json& data, std::string_view type) {
    return ResolveBlobData(data, type, *store_, options_, kLoc);
  }
  // Resolves, checks success, and returns the staged bytes (then discarded).
  std::string Bytes(const ResolvedBlob& r) {
    EXPECT_TRUE(store_->Commit(r.staged).ok());
    std::string bytes = store_->ReadAll(r.staged.sha256).value();
    EXPECT_TRUE(store_->Remove(r.staged.sha256).ok());
    return bytes;
  }
  size_t TempFiles() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(store_->root() + "/tmp"),
                                             fs::directory_iterator()));
  }
  void ExpectError(const Json& data, std::string_view type, const std::string& error_type,
                   const std::string& location = kLoc) {
    auto got = Resolve(data, type);
    ASSERT_FALSE(got.ok()) << data.dump();
    EXPECT_EQ(ErrorType(got.status()), error_type) << data.dump() << ": " << got.status().message();
    if (got.status().code() == StatusCode::kValidation) {
      EXPECT_EQ(ErrorLocation(got.status()), location) << data.dump();
    }
    EXPECT_EQ(TempFiles(), 0u) << data.dump();
  }

  std::string root_;
  std::unique_ptr<storage::BlobStore> store_;
  BlobSourceOptions options_;
};

// ---------------------------------------------------------------- form 1 and 4: URLs

TEST_F(BlobSourceTest, UrlString) {
  PngServer server;
  auto got = Resolve(server.Url("/pic.png"), "image");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->mime_type, "image/png");
  EXPECT_EQ(got->filename, "pic.png");
  EXPECT_EQ(got->source_kind, "url");
  EXPECT_EQ(got->source_url, server.Url("/pic.png"));
  EXPECT_EQ(got->staged.sha256, Sha256Hex(kPng));
  EXPECT_EQ(Bytes(*got), kPng);
}

TEST_F(BlobSourceTest, UrlObjectWithOverrides) {
  PngServer server;
  auto got = Resolve({{"url", server.Url("/pic.png")}, {"filename", "dir/cover.png"}}, "image");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->filename, "cover.png");
  EXPECT_EQ(got->source_kind, "url");
  store_->Discard(got->staged);

  // libmagic cannot name an MPEG-TS fragment; the server's Content-Type can.
  auto ts = Resolve(server.Url("/stream.ts"), "video");
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->mime_type, "video/mp2t");
  store_->Discard(ts->staged);

  // Sniffed text/plain, declared text/markdown: the more specific one stays.
  auto md = Resolve({{"url", server.Url("/notes.md")}}, "text");
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->mime_type, "text/markdown");
  store_->Discard(md->staged);
}

TEST_F(BlobSourceTest, UrlErrors) {
  PngServer server;
  ExpectError(server.Url("/pic.png"), "pdf", "type_mismatch");
  auto mismatch = Resolve(server.Url("/pic.png"), "pdf");
  EXPECT_EQ(FirstError(mismatch.status())["message"], "content is image/png, not a pdf");

  ExpectError(server.Url("/latin1.txt"), "text", "invalid_utf8");
  ExpectError(server.Url("/absent"), "image", "url_fetch_failed");
  ExpectError({{"url", server.Url("/absent")}}, "image", "url_fetch_failed",
              std::string(kLoc) + ".url");

  options_.fetch.allow_private_addresses = false;
  ExpectError(server.Url("/pic.png"), "image", "url_forbidden");
  ExpectError({{"url", server.Url("/pic.png")}}, "image", "url_forbidden",
              std::string(kLoc) + ".url");

  options_.fetch.max_bytes = 10;
  options_.fetch.allow_private_addresses = true;
  auto big = Resolve(server.Url("/pic.png"), "image");
  EXPECT_EQ(big.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(BlobSourceTest, UnsupportedSchemes) {
  ExpectError("s3://bucket/key.png", "image", "unsupported_source");
  auto s3 = Resolve("s3://bucket/key.png", "image");
  EXPECT_NE(s3.status().message().find("S3 connection"), std::string::npos);
  ExpectError({{"url", "s3://bucket/key.png"}}, "image", "unsupported_source",
              std::string(kLoc) + ".url");
  ExpectError("ftp://example.com/a.png", "image", "url_scheme");
  ExpectError({{"url", "file:///etc/passwd"}}, "text", "url_scheme", std::string(kLoc) + ".url");
  ExpectError({{"url", "not a url"}}, "image", "invalid_url", std::string(kLoc) + ".url");
}

// ---------------------------------------------------------------- form 2: data URIs

TEST_F(BlobSourceTest, DataUriBase64) {
  auto got = Resolve("data:image/png;base64," + Base64Encode(kPng), "image");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->mime_type, "image/png");
  EXPECT_EQ(got->source_kind, "data_uri");
  EXPECT_EQ(got->source_url, "");
  EXPECT_EQ(Bytes(*got), kPng);

  // The declared type does not win over the content.
  auto lying = Resolve("data:application/pdf;base64," + Base64Encode(kPng), "image");
  ASSERT_TRUE(lying.ok());
  EXPECT_EQ(lying->mime_type, "image/png");
  store_->Discard(lying->staged);

  auto named = Resolve("DATA:image/png;name=a%20b.png;BASE64," + Base64Encode(kPng), "image");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->filename, "a b.png");
  store_->Discard(named->staged);
}

TEST_F(BlobSourceTest, DataUriPercentEncoded) {
  auto got = Resolve("data:,Hello%2C%20World%21", "text");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->mime_type, "text/plain");
  EXPECT_EQ(Bytes(*got), "Hello, World!");

  auto csv = Resolve("data:text/csv;charset=utf-8,a%2Cb%0A1%2C2%0A3%2C4%0A", "text");
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->mime_type, "text/csv");
  EXPECT_EQ(Bytes(*csv), "a,b\n1,2\n3,4\n");
}

TEST_F(BlobSourceTest, DataUriErrors) {
  ExpectError("data:image/png;base64,not*base64!", "image", "invalid_base64");
  ExpectError("data:image/png;base64", "image", "invalid_data_uri");
  ExpectError("data:text/plain,%FF%FE%00abc", "text", "invalid_utf8");
  ExpectError("data:image/png;base64," + Base64Encode(kPng), "pdf", "type_mismatch");
}

// ---------------------------------------------------------------- form 3: base64 objects

TEST_F(BlobSourceTest, Base64Object) {
  auto got = Resolve({{"base64", Base64Encode(kPng)}, {"mime_type", "image/png"},
                      {"filename", "../x/dot.png"}},
                     "image");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->mime_type, "image/png");
  EXPECT_EQ(got->filename, "dot.png");
  EXPECT_EQ(got->source_kind, "base64");
  EXPECT_EQ(Bytes(*got), kPng);

  // Whitespace-wrapped base64 (as `base64` prints it) is fine.
  std::string wrapped = Base64Encode(kPng);
  wrapped.insert(20, "\n");
  auto w = Resolve({{"base64", wrapped}}, "image");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  store_->Discard(w->staged);

  // Opaque bytes for a video keep the declared type; for an image they do not pass.
  auto ts = Resolve({{"base64", Base64Encode(kOpaque)}, {"mime_type", "video/mp2t"}}, "video");
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->mime_type, "video/mp2t");
  store_->Discard(ts->staged);
  ExpectError({{"base64", Base64Encode(kOpaque)}, {"mime_type", "image/png"}}, "image",
              "type_mismatch", std::string(kLoc) + ".base64");

  // An empty text is a text.
  auto empty = Resolve({{"base64", ""}}, "text");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->mime_type, "text/plain");
  EXPECT_EQ(empty->staged.size, 0u);
  store_->Discard(empty->staged);
}

TEST_F(BlobSourceTest, Base64ObjectErrors) {
  const std::string b64 = std::string(kLoc) + ".base64";
  ExpectError({{"base64", "%%%"}}, "image", "invalid_base64", b64);
  ExpectError({{"base64", Base64Encode(kPng)}}, "pdf", "type_mismatch", b64);
  ExpectError({{"base64", Base64Encode("abc\xc3\x28")}}, "text", "invalid_utf8", b64);
  ExpectError({{"base64", 12}}, "image", "invalid_blob_data", b64);
  ExpectError({{"base64", Base64Encode(kPng)}, {"mime_type", 5}}, "image", "invalid_blob_data",
              std::string(kLoc) + ".mime_type");
  ExpectError({{"base64", "AAAA"}, {"url", "http://example.com/"}}, "image",
              "invalid_blob_data");
  ExpectError(Json::object(), "image", "invalid_blob_data");
  ExpectError({{"filename", "a.png"}}, "image", "invalid_blob_data");
}

// ---------------------------------------------------------------- plain text

TEST_F(BlobSourceTest, PlainTextForTextBlobs) {
  auto got = Resolve("Just some words, d\xc3\xa9j\xc3\xa0 vu.", "text");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->mime_type, "text/plain");
  EXPECT_EQ(got->source_kind, "text");
  EXPECT_EQ(got->filename, "");
  EXPECT_EQ(Bytes(*got), "Just some words, d\xc3\xa9j\xc3\xa0 vu.");

  // Text that starts like a PDF is still the client's text, not sniffed.
  auto pdfish = Resolve("%PDF-1.4 is how a PDF starts", "text");
  ASSERT_TRUE(pdfish.ok());
  EXPECT_EQ(pdfish->mime_type, "text/plain");
  store_->Discard(pdfish->staged);
}

TEST_F(BlobSourceTest, PlainStringForOtherTypesIsAnError) {
  ExpectError("just words", "image", "invalid_blob_data");
  auto got = Resolve("just words", "pdf");
  EXPECT_NE(got.status().message().find("data: URI"), std::string::npos);
}

TEST_F(BlobSourceTest, OtherJsonIsAnError) {
  ExpectError(nullptr, "text", "invalid_blob_data");
  ExpectError(42, "image", "invalid_blob_data");
  ExpectError(true, "text", "invalid_blob_data");
  ExpectError(Json::array({"http://example.com/a.png"}), "image", "invalid_blob_data");
}

// ---------------------------------------------------------------- limits

TEST_F(BlobSourceTest, InlineLimit) {
  options_.max_inline_bytes = 16;
  std::string blob(17, 'a');
  for (const Json& data : {Json(blob), Json("data:," + blob), Json({{"base64", Base64Encode(blob)}}),
                           Json({{"base64", Base64Encode(std::string(4000, 'a'))}})}) {
    auto got = Resolve(data, "text");
    ASSERT_FALSE(got.ok()) << data.dump();
    EXPECT_EQ(got.status().code(), StatusCode::kPayloadTooLarge) << data.dump();
    EXPECT_NE(got.status().message().find(kLoc), std::string::npos);
  }
  EXPECT_TRUE(Resolve(std::string(16, 'a'), "text").ok());  // exactly the limit
}

// ---------------------------------------------------------------- UTF-8

TEST(Utf8, Strict) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));                       // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("nul\x00inside"s));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace strata::ingest
