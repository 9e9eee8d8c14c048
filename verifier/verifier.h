// verifier: proofs, solver lints and semantic diffs over an ir::Module, encoded in Z3.
// Only this library includes z3++.h; results come back as plain structs.
#pragma once
#include "ir/ir.h"
