// See revalidate.h.
#include "revalidate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>

extern char** environ;

// glibc_compat.cc implements lstat with the kernel's newfstatat into this struct: on the
// prebuilt architectures glibc's struct stat has the kernel's layout (sizes asserted there too).
#if defined(__GLIBC__) && defined(__x86_64__)
static_assert(sizeof(struct stat) == 144, "glibc struct stat is the x86_64 kernel's");
#elif defined(__GLIBC__) && defined(__aarch64__)
static_assert(sizeof(struct stat) == 128, "glibc struct stat is the asm-generic kernel's");
#endif

namespace cordon {

void LstatStamps(const std::string& joined, std::vector<double>* out) {
  const char* p = joined.c_str();
  const char* end = p + joined.size();
  while (p < end) {
    struct stat st;
    if (lstat(p, &st) == 0) {
      out->push_back(static_cast<double>(st.st_ino));
      out->push_back(static_cast<double>(st.st_mtim.tv_sec));
      out->push_back(static_cast<double>(st.st_mtim.tv_nsec));
    } else {
      out->push_back(-1);
      out->push_back(0);
      out->push_back(0);
    }
    p += strlen(p) + 1;
  }
}

// The addon is loaded once per process and shared by every worker thread: the state below is
// process-wide, so each function holds its lock throughout.
double EnvironGeneration() {
  static std::mutex lock;
  static std::vector<std::string> last;
  static double generation = 1;
  std::lock_guard<std::mutex> held(lock);
  size_t i = 0;
  bool same = true;
  for (char** e = environ; e != nullptr && *e != nullptr; e++, i++) {
    if (same && (i >= last.size() || last[i] != *e)) same = false;
  }
  if (same && i == last.size()) return generation;
  last.clear();
  for (char** e = environ; e != nullptr && *e != nullptr; e++) last.emplace_back(*e);
  return ++generation;
}

int ReadIfChanged(const std::string& path, double known, double* version, std::string* text) {
  struct Watched {
    int fd = -1;
    double version = 0;
    std::string last;
    std::string buffer;
  };
  static std::mutex lock;
  static std::map<std::string, Watched> files;
  std::lock_guard<std::mutex> held(lock);
  Watched& w = files[path];
  if (w.fd < 0) {
    w.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (w.fd < 0) return -errno;
    w.buffer.resize(64 * 1024);
  }
  size_t length = 0;
  for (;;) {
    if (length == w.buffer.size()) w.buffer.resize(w.buffer.size() * 2);
    // A read at offset 0 regenerates the table; each read returns at most a page, and one at
    // the offset the last one ended continues it.
    ssize_t n = pread(w.fd, &w.buffer[length], w.buffer.size() - length, static_cast<off_t>(length));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    length += static_cast<size_t>(n);
  }
  if (w.version == 0 || length != w.last.size() || memcmp(w.buffer.data(), w.last.data(), length) != 0) {
    w.last.assign(w.buffer.data(), length);
    w.version++;
  }
  if (w.version == known) return 0;
  *version = w.version;
  *text = w.last;
  return 1;
}

}  // namespace cordon
