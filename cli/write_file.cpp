// Atomic file replacement (see write_file.h): a temporary file in the same directory,
// fsync, rename.
#include "cli/write_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace moat::cli {

bool write_atomically(const std::filesystem::path& path, const std::string& text, std::string& error) {
  namespace fs = std::filesystem;
  std::string tmpl = (path.parent_path().empty() ? fs::path(".") : path.parent_path()).string() + "/." +
                     path.filename().string() + ".tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) fchmod(fd, st.st_mode & 07777);
  else fchmod(fd, 0644);  // a new file: what the umask would usually give, not mkstemp's 0600
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::strerror(errno);
      close(fd);
      unlink(name.data());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(name.data(), path.c_str()) != 0) {
    error = std::strerror(errno);
    unlink(name.data());
    return false;
  }
  return true;
}

} // namespace moat::cli
