// Helpers for tests that make their image fixtures at test time: a temporary
// folder, file I/O, and python3 with PIL (Debian's python3-pil) for what
// OpenCV cannot write (animated GIF, CMYK JPEG, rendered text).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "media/test_support.h"

namespace strata::media::image_testing {

using test_support::ReadFile;
using test_support::TempDir;
using test_support::WriteFile;

// A python3 that can import PIL ("" when none): the one on PATH, else
// Debian's own (a PATH python from pyenv or a venv may lack python3-pil).
inline std::string PythonWithPil() {
  static const std::string found = [] {
    for (const char* py : {"python3", "/usr/bin/python3"}) {
      std::string cmd = std::string(py) + " -c 'import PIL.Image, PIL.ImageDraw, PIL.ImageFont' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) return std::string(py);
    }
    return std::string();
  }();
  return found;
}

// Runs `script` with PythonWithPil(), argv[1] = `dir`. True on exit status 0.
inline bool RunPython(const std::string& script, const std::string& dir) {
  std::string py = PythonWithPil();
  if (py.empty()) return false;
  std::string file = dir + "/fixture.py";
  WriteFile(file, script);
  return std::system((py + " " + file + " " + dir).c_str()) == 0;
}

}  // namespace strata::media::image_testing
