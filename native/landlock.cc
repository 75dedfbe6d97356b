#include "landlock.h"
