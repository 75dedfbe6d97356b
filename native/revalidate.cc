// See revalidate.h.
#include "revalidate.h"

#include <string.h>
#include <sys/stat.h>

extern char** environ;

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

double EnvironGeneration() {
  static std::vector<std::string> last;
  static double generation = 1;
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

}  // namespace cordon
