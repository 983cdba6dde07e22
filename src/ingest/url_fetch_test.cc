#include "ingest/url_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/crypto.h"

namespace strata::ingest {
namespace {

namespace fs = std::filesystem;

std::string ErrorType(const Status& st) {
  const auto& errors = st.details()["validation_errors"];
  if (!errors.is_array() || errors.empty()) return "";
  return errors[0]["type"].get<std::string>();
}

// A real HTTP server on a free loopback port, for the duration of a test.
class TestServer {
 public:
  TestServer() {
    server_.Get("/file.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(Body(), "image/png; charset=binary");
    });
    server_.Get("/named", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Disposition", "attachment; filename=\"report.pdf\"");
      res.set_content("%PDF-1.4\n", "application/pdf");
    });
    // httplib matches routes against the decoded path.
    server_.Get("/dir/My Photo.jpg", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("jpeg-ish", "image/jpeg");
    });
    server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("no such thing", "text/plain");
    });
    server_.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/file.png");
    });
    server_.Get("/redirect-ftp", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("ftp://127.0.0.1/secret");
    });
    server_.Get("/loop", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/loop");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(10000, 'x'), "application/octet-stream");
    });
    server_.Get("/big-chunked", [](const httplib::Request&, httplib::Response& res) {
      // No Content-Length: the limit must be enforced while streaming.
      res.set_chunked_content_provider("application/octet-stream",
                                       [](size_t offset, httplib::DataSink& sink) {
                                         if (offset >= 10000) {
                                           sink.done();
                                           return true;
                                         }
                                         std::string chunk(1000, 'y');
                                         return sink.write(chunk.data(), chunk.size());
                                       });
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }

  static std::string Body() {
    std::string body = "\x89PNG\r\n\x1a\n";
    for (int i = 0; i < 5000; ++i) body += static_cast<char>(i * 7);
    return body;
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class UrlFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("strata_fetch_test_" + RandomAlnum(12))).string();
    auto opened = storage::BlobStore::Open(root_);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    allowed_.allow_private_addresses = true;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  size_t TempFiles() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(store_->root() + "/tmp"),
                                             fs::directory_iterator()));
  }

  std::string root_;
  std::unique_ptr<storage::BlobStore> store_;
  FetchOptions allowed_;
  TestServer server_;
};

TEST_F(UrlFetchTest, LoopbackRefusedByDefault) {
  auto got = FetchUrl(server_.Url("/file.png"), *store_, FetchOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kValidation);
  EXPECT_EQ(ErrorType(got.status()), "url_forbidden");
  EXPECT_NE(got.status().message().find("STRATA_ALLOW_PRIVATE_URLS=1"), std::string::npos);
  EXPECT_NE(got.status().message().find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(TempFiles(), 0u);

  // A name that resolves to loopback is refused as well (the check is on the
  // address connected to, not on the text of the URL).
  auto by_name = FetchUrl("http://localhost:" + std::to_string(server_.port()) + "/file.png",
                          *store_, FetchOptions{});
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(ErrorType(by_name.status()), "url_forbidden");
}

TEST_F(UrlFetchTest, AllowedWithTheOption) {
  auto got = FetchUrl(server_.Url("/file.png"), *store_, allowed_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->staged.sha256, Sha256Hex(TestServer::Body()));
  EXPECT_EQ(got->staged.size, TestServer::Body().size());
  EXPECT_EQ(got->content_type, "image/png");
  EXPECT_EQ(got->filename, "file.png");
  EXPECT_EQ(got->final_url, server_.Url("/file.png"));
  ASSERT_TRUE(store_->Commit(got->staged).ok());
  EXPECT_EQ(store_->ReadAll(got->staged.sha256).value(), TestServer::Body());
}

TEST_F(UrlFetchTest, FilenameFromHeaderOrPath) {
  auto named = FetchUrl(server_.Url("/named?x=1"), *store_, allowed_);
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->filename, "report.pdf");
  EXPECT_EQ(named->content_type, "application/pdf");
  store_->Discard(named->staged);

  auto by_path = FetchUrl(server_.Url("/dir/My%20Photo.jpg"), *store_, allowed_);
  ASSERT_TRUE(by_path.ok()) << by_path.status().ToString();
  EXPECT_EQ(by_path->filename, "My Photo.jpg");
  store_->Discard(by_path->staged);
}

TEST_F(UrlFetchTest, FollowsRedirects) {
  auto got = FetchUrl(server_.Url("/redirect"), *store_, allowed_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->final_url, server_.Url("/file.png"));
  EXPECT_EQ(got->filename, "file.png");
  EXPECT_EQ(got->staged.sha256, Sha256Hex(TestServer::Body()));
  store_->Discard(got->staged);

  auto loop = FetchUrl(server_.Url("/loop"), *store_, allowed_);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(ErrorType(loop.status()), "url_fetch_failed");

  auto to_ftp = FetchUrl(server_.Url("/redirect-ftp"), *store_, allowed_);
  ASSERT_FALSE(to_ftp.ok());
  EXPECT_EQ(ErrorType(to_ftp.status()), "url_scheme");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(UrlFetchTest, HttpErrorIsFetchFailed) {
  auto got = FetchUrl(server_.Url("/missing"), *store_, allowed_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kValidation);
  EXPECT_EQ(ErrorType(got.status()), "url_fetch_failed");
  EXPECT_NE(got.status().message().find("404"), std::string::npos);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(UrlFetchTest, MaxBytesExceeded) {
  FetchOptions small = allowed_;
  small.max_bytes = 4000;
  auto with_length = FetchUrl(server_.Url("/big"), *store_, small);
  ASSERT_FALSE(with_length.ok());
  EXPECT_EQ(with_length.status().code(), StatusCode::kPayloadTooLarge);

  auto chunked = FetchUrl(server_.Url("/big-chunked"), *store_, small);
  ASSERT_FALSE(chunked.ok());
  EXPECT_EQ(chunked.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(TempFiles(), 0u);

  small.max_bytes = 10000;  // exactly the size is fine
  auto exact = FetchUrl(server_.Url("/big-chunked"), *store_, small);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->staged.size, 10000u);
  store_->Discard(exact->staged);
}

TEST_F(UrlFetchTest, ClosedPortIsUnreachable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);  // bound, never listened, now closed: nothing answers on this port

  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x";
  auto got = FetchUrl(url, *store_, allowed_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kValidation);
  EXPECT_EQ(ErrorType(got.status()), "url_unreachable");
  EXPECT_NE(got.status().message().find(url), std::string::npos);
}

TEST_F(UrlFetchTest, TimeoutIsUnreachable) {
  FetchOptions quick = allowed_;
  quick.timeout_seconds = 1;
  auto got = FetchUrl(server_.Url("/slow"), *store_, quick);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrorType(got.status()), "url_unreachable");
}

TEST_F(UrlFetchTest, OtherSchemesRefused) {
  for (std::string url : {"ftp://example.com/file", "file:///etc/passwd", "gopher://x/1",
                          "dict://127.0.0.1:11211/stat", "FILE:///etc/passwd"}) {
    auto got = FetchUrl(url, *store_, allowed_);
    ASSERT_FALSE(got.ok()) << url;
    EXPECT_EQ(ErrorType(got.status()), "url_scheme") << url;
  }
  auto garbage = FetchUrl("not a url at all", *store_, allowed_);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kValidation);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(UrlFetchTest, CredentialsNotEchoed) {
  auto got = FetchUrl("http://user:hunter2@127.0.0.1:" + std::to_string(server_.port()) +
                          "/missing",
                      *store_, allowed_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message().find("hunter2"), std::string::npos);
}

// ---------------------------------------------------------------- the guard

bool Forbidden(const std::string& text) {
  sockaddr_storage ss{};
  if (text.find(':') == std::string::npos) {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
    in4->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &in4->sin_addr), 1) << text;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr), 1) << text;
  }
  return IsForbiddenAddress(reinterpret_cast<sockaddr*>(&ss));
}

TEST(IsForbiddenAddress, RefusesInternalAddresses) {
  for (std::string a : {"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1",
                        "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "100.127.255.255", "224.0.0.1",
                        "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.0.8",
                        "198.18.0.1", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1",
                        "febf::1", "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
                        "::ffff:169.254.169.254", "::ffff:192.168.0.1", "::127.0.0.1",
                        "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:7f00:1::",
                        "2002:c0a8:101::1"}) {
    EXPECT_TRUE(Forbidden(a)) << a;
  }
}

TEST(IsForbiddenAddress, AllowsPublicAddresses) {
  for (std::string a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1",
                        "100.63.255.255", "100.128.0.1", "169.253.0.1", "11.0.0.1",
                        "223.255.255.255", "192.0.1.1", "2606:4700:4700::1111",
                        "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808",
                        "2002:808:808::1", "fbff::1", "fe7f::1"}) {
    EXPECT_FALSE(Forbidden(a)) << a;
  }
}

TEST(IsForbiddenAddress, OtherFamiliesAndNull) {
  EXPECT_TRUE(IsForbiddenAddress(nullptr));
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_TRUE(IsForbiddenAddress(reinterpret_cast<sockaddr*>(&ss)));
}

// ---------------------------------------------------------------- filenames

TEST(Filenames, ContentDisposition) {
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename=\"a b.pdf\""), "a b.pdf");
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename=plain.txt"), "plain.txt");
  EXPECT_EQ(FilenameFromContentDisposition(
                "attachment; filename=\"fallback.txt\"; filename*=UTF-8''na%C3%AFve%20x.txt"),
            "na\xc3\xafve x.txt");
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename*=iso-8859-1'en'caf%E9.txt"),
            "caf\xc3\xa9.txt");
  EXPECT_EQ(FilenameFromContentDisposition("inline; filename=\"q\\\"uote;d.txt\""),
            "q\"uote;d.txt");
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename=\"../../etc/passwd\""),
            "passwd");
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename=\"..\\\\evil.exe\""),
            "evil.exe");
  EXPECT_EQ(FilenameFromContentDisposition("attachment; filename=\"..\""), "");
  EXPECT_EQ(FilenameFromContentDisposition("attachment"), "");
  EXPECT_EQ(FilenameFromContentDisposition(""), "");
}

TEST(Filenames, FromUrl) {
  EXPECT_EQ(FilenameFromUrl("https://example.com/a/b/photo.jpg?size=large#x"), "photo.jpg");
  EXPECT_EQ(FilenameFromUrl("https://example.com/a/My%20File.pdf"), "My File.pdf");
  EXPECT_EQ(FilenameFromUrl("https://example.com/a/..%2F..%2Fetc%2Fpasswd"), "passwd");
  EXPECT_EQ(FilenameFromUrl("https://example.com/a/evil%00name.txt"), "evilname.txt");
  EXPECT_EQ(FilenameFromUrl("https://example.com/"), "");
  EXPECT_EQ(FilenameFromUrl("https://example.com"), "");
}

TEST(Filenames, SanitizeAndDecode) {
  EXPECT_EQ(PercentDecode("a%20b%zz%4"), "a b%zz%4");
  EXPECT_EQ(PercentDecode("%E2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(SanitizeFilename("  spaced.txt "), "spaced.txt");
  EXPECT_EQ(SanitizeFilename("dir/sub\\file.txt"), "file.txt");
  std::string long_name;
  for (int i = 0; i < 200; ++i) long_name += "\xc3\xa9";  // 400 bytes of é
  std::string cut = SanitizeFilename(long_name);
  EXPECT_LE(cut.size(), 255u);
  EXPECT_EQ(cut.size() % 2, 0u);  // not cut inside a character
}

}  // namespace
}  // namespace strata::ingest
