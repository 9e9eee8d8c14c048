// Runs the real `moat` binary from a test (MOAT_EXE, set by the test's CMake target) in the
// source directory and captures its output and exit code.
#pragma once
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace moat::testing {

struct Run {
  std::string out;
  int exit_code = -1;
};

/// `cd SOURCE_DIR && PREFIX 'moat' ARGS` with stdout captured (and stderr too when
/// `with_stderr`, else discarded).
inline Run run_shell(const std::string& prefix, const std::string& args, bool with_stderr) {
  std::string cmd = std::string("cd '") + MOAT_SOURCE_DIR + "' && " + prefix + "'" + MOAT_EXE + "' " + args +
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

/// `moat ARGS` with stdout captured (and stderr too when `with_stderr`, else discarded).
inline Run run_moat(const std::string& args, bool with_stderr = false) { return run_shell("", args, with_stderr); }

/// `cat INPUT | moat ARGS`: the input reaches moat through a pipe (not a seekable file), as
/// from `helm template . | moat check -`. It is staged in a temporary file first.
inline Run run_moat_piped(const std::string& input, const std::string& args, bool with_stderr = false) {
  char path[] = "/tmp/moat-stdin-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  close(fd);
  Run r = run_shell(std::string("cat '") + path + "' | ", args, with_stderr);
  unlink(path);
  return r;
}

} // namespace moat::testing
