#include "ingest/mime.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"

namespace strata::ingest {
namespace {

using namespace std::string_literals;  // "\0"s: the fixtures hold NUL bytes

// A 1x1 RGBA PNG: signature, IHDR, IDAT, IEND.
const std::string kPng =
    "\x89PNG\r\n\x1a\n"s
    "\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"s
    "\x00\x00\x00\x0dIDAT\x78\x9c\x63\x00\x01\x00\x00\x05\x00\x01\x0d\x0a\x2d\xb4"s
    "\x00\x00\x00\x00IEND\xae\x42\x60\x82"s;
const std::string kPdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const std::string kGif =
    "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"s
    "!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02"s "D\x01\x00;"s;
// RIFF/WAVE, PCM mono 8 kHz 16-bit, no samples.
const std::string kWav =
    "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"s
    "\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"s "data\x00\x00\x00\x00"s;

TEST(Mime, SniffsRealFormats) {
  EXPECT_EQ(SniffMime(kPng), "image/png");
  EXPECT_EQ(SniffMime(kPdf), "application/pdf");
  EXPECT_EQ(SniffMime(kGif), "image/gif");
  EXPECT_EQ(SniffMime(kWav), "audio/x-wav");
  EXPECT_EQ(SniffMime("hello world, this is plain text\n"), "text/plain");
  EXPECT_EQ(SniffMime("h\xc3\xa9llo w\xc3\xb6rld\n"), "text/plain");
  EXPECT_EQ(SniffMime("{\"a\": 1, \"b\": [1, 2]}\n"), "application/json");
  EXPECT_EQ(SniffMime(""), "application/x-empty");
  EXPECT_EQ(SniffMime("\x00\x01\x02\x03\xff\xfe"s), "application/octet-stream");
}

TEST(Mime, OnlyTheHeadIsExamined) {
  // A PNG followed by megabytes of junk is still a PNG, and long text whose
  // 64 KiB cut falls inside a multi-byte character is still text.
  EXPECT_EQ(SniffMime(kPng + std::string(3 << 20, '\x01')), "image/png");
  std::string text;
  while (text.size() < kSniffBytes + 10) text += "d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac ";
  for (size_t shift = 0; shift < 4; ++shift) {
    EXPECT_EQ(SniffMime(std::string(shift, 'x') + text), "text/plain") << shift;
  }
}

TEST(Mime, SniffsFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("strata_mime_" + RandomAlnum(10));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  };
  EXPECT_EQ(SniffMimeFile(write("a.bin", kPdf)), "application/pdf");  // the name does not matter
  EXPECT_EQ(SniffMimeFile(write("a.txt", kGif)), "image/gif");
  EXPECT_EQ(SniffMimeFile(write("empty", "")), "application/x-empty");
  EXPECT_EQ(SniffMimeFile((dir / "missing").string()), "");
  std::filesystem::remove_all(dir);
}

TEST(Mime, WorksFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (SniffMime(i % 2 ? kPng : kPdf) != (i % 2 ? "image/png" : "application/pdf")) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(Mime, Normalize) {
  EXPECT_EQ(NormalizeMime(" Text/HTML; charset=utf-8"), "text/html");
  EXPECT_EQ(NormalizeMime("image/PNG"), "image/png");
  EXPECT_EQ(NormalizeMime(""), "");
}

TEST(Mime, BlobTypeForMime) {
  EXPECT_EQ(BlobTypeForMime("image/png"), "image");
  EXPECT_EQ(BlobTypeForMime("image/svg+xml"), "image");
  EXPECT_EQ(BlobTypeForMime("video/mp4"), "video");
  EXPECT_EQ(BlobTypeForMime("audio/x-wav"), "audio");
  EXPECT_EQ(BlobTypeForMime("application/pdf"), "pdf");
  EXPECT_EQ(BlobTypeForMime("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "excel");
  EXPECT_EQ(BlobTypeForMime("application/vnd.ms-excel"), "excel");
  EXPECT_EQ(BlobTypeForMime("text/csv"), "text");
  EXPECT_EQ(BlobTypeForMime("text/plain; charset=utf-8"), "text");
  EXPECT_EQ(BlobTypeForMime("application/json"), "text");
  EXPECT_EQ(BlobTypeForMime("application/octet-stream"), "");
  EXPECT_EQ(BlobTypeForMime("application/zip"), "");
}

TEST(Mime, CompatibleWithBlobType) {
  EXPECT_TRUE(MimeCompatibleWithBlobType("image/png", "image"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/png", "pdf"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("application/octet-stream", "image"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("text/plain", "image"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("application/pdf", "pdf"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("text/plain", "pdf"));

  EXPECT_TRUE(MimeCompatibleWithBlobType("text/plain", "text"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("text/csv", "text"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("application/json", "text"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("application/x-empty", "text"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("application/octet-stream", "text"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/png", "text"));

  EXPECT_TRUE(MimeCompatibleWithBlobType("video/mp4", "video"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("application/octet-stream", "video"));
  // An animated GIF may be declared as a video; no other image may, and a
  // video is still not an image.
  EXPECT_TRUE(MimeCompatibleWithBlobType("image/gif", "video"));
  EXPECT_TRUE(MimeCompatibleWithBlobType(SniffMime(kGif), "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/png", "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/jpeg", "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/webp", "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("application/pdf", "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("text/plain", "video"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("video/mp4", "image"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/gif", "audio"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("audio/mpeg", "audio"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("video/webm", "audio"));  // audio-only webm
  EXPECT_FALSE(MimeCompatibleWithBlobType("application/pdf", "audio"));

  EXPECT_TRUE(MimeCompatibleWithBlobType(
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "excel"));
  EXPECT_TRUE(MimeCompatibleWithBlobType("text/csv", "excel"));
  EXPECT_FALSE(MimeCompatibleWithBlobType("image/png", "excel"));

  EXPECT_TRUE(MimeCompatibleWithBlobType("image/png", "something_new"));
}

}  // namespace
}  // namespace strata::ingest
