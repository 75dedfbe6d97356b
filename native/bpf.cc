#include "bpf.h"
