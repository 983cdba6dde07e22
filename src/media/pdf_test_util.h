// For the tests that read PDFs (media/pdf_test.cc,
// extract/document_graph_extractor_test.cc): the fixtures
// tests/media/make_pdf_fixtures.py writes at test time (python3-reportlab,
// python3-pil) with their ground truth (expected.json), once per test suite.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json_util.h"

namespace strata::media::pdf_testing {

// Whitespace runs become one space, ends trimmed: the comparison of block
// texts ignores how lines, cells and items are separated.
inline std::string Normalise(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isspace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A test suite over the fixtures: SetUp skips when they could not be made.
class PdfFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "strata_pdf_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    // Debian's interpreter first: python3-reportlab is installed for it.
    const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::string cmd = python + " " + STRATA_SOURCE_DIR "/tests/media/make_pdf_fixtures.py " + dir_ + " 2>&1";
    made_ = std::system(cmd.c_str()) == 0;
    if (made_) {
      std::ifstream f(dir_ + "/expected.json");
      std::stringstream ss;
      ss << f.rdbuf();
      truth_ = Json::parse(ss.str());
    }
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!made_) GTEST_SKIP() << "the PDF fixtures need python3 with reportlab and PIL (python3-reportlab, python3-pil)";
  }
  static std::string Path(const std::string& name) { return dir_ + "/" + name; }

  static inline std::string dir_;
  static inline bool made_ = false;
  static inline Json truth_;
};

}  // namespace strata::media::pdf_testing
