// compile_datapath: plan -> LLVM module (DatapathEmitter) -> O2 -> BPF ELF object in memory.
#include "backend/backend.h"
#include "backend/codegen/bpf_builder.h"
#include "backend/codegen/datapath_emitter.h"
#include "backend/codegen/emit_object.h"

namespace moat::backend {

bool compile_datapath(const bundle::DatapathPlan& plan, const std::string& name, std::vector<uint8_t>& elf,
                      std::string& error, CompileOptions* opts) {
  codegen::BpfBuilder builder(name);
  codegen::DatapathEmitter(builder, plan).emit();
  if (!builder.finish(error)) {
    error = "internal error: invalid LLVM IR for the datapath: " + error;
    return false;
  }
  if (!codegen::optimize_and_emit(builder.module(), elf, error)) return false;
  if (opts && opts->keep_ir) opts->llvm_ir = codegen::module_text(builder.module());
  return true;
}

} // namespace moat::backend
