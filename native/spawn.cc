#include "spawn.h"

#include <errno.h>
#include <string.h>

namespace cordon {

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}

}  // namespace cordon
