// runtime: loads compiled objects with libbpf, fills maps, attaches, enforces.
// Only this library (and the kernel test harness) includes libbpf.
#pragma once
#include "ir/ir.h"
