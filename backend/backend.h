// backend: lowers an ir::Module to eBPF objects through LLVM, plus the bundle manifest.
// Only this library includes LLVM headers.
#pragma once
#include "ir/ir.h"
