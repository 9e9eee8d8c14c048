// Runs the real `moat` binary from a test (MOAT_EXE, set by the test's CMake target) in the
// source directory and captures its output and exit code.
#pragma once
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

#include <catch2/catch.hpp>

namespace moat::testing {

struct Run {
  std::string out;
  int exit_code = -1;
};

/// `moat ARGS` with stdout captured (and stderr too when `with_stderr`, else discarded).
inline Run run_moat(const std::string& args, bool with_stderr = false) {
  std::string cmd = std::string("cd '") + MOAT_SOURCE_DIR + "' && '" + MOAT_EXE + "' " + args +
                    (with_stderr ? " 2>&1" : " 2>/dev/null");
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

} // namespace moat::testing
