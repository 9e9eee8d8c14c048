// O2 + BPF code generation to an in-memory ELF object.
#include "backend/codegen/emit_object.h"

#include <memory>
#include <mutex>

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Triple.h>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace moat::codegen {

using namespace llvm;

namespace {

constexpr const char* kTriple = "bpfel";
// v3: 32-bit sub-registers and jumps; every kernel moat targets (>= 5.10) has it.
constexpr const char* kCpu = "v3";

std::unique_ptr<TargetMachine> make_target_machine(std::string& error) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
  });
  const Target* target = TargetRegistry::lookupTarget(kTriple, error);
  if (!target) return nullptr;
  TargetOptions options;
  return std::unique_ptr<TargetMachine>(target->createTargetMachine(
      kTriple, kCpu, "", options, Reloc::PIC_, std::nullopt, CodeGenOptLevel::Aggressive));
}

} // namespace

bool optimize_and_emit(Module& m, std::vector<uint8_t>& out, std::string& error) {
  std::unique_ptr<TargetMachine> tm = make_target_machine(error);
  if (!tm) {
    error = "BPF target unavailable: " + error;
    return false;
  }
  m.setTargetTriple(kTriple);
  m.setDataLayout(tm->createDataLayout());

  {
    // The new pass manager; constructing PassBuilder with the target machine registers
    // the BPF backend's IR passes (the ones clang -target bpf gets).
    LoopAnalysisManager lam;
    FunctionAnalysisManager fam;
    CGSCCAnalysisManager cgam;
    ModuleAnalysisManager mam;
    PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O2);
    mpm.run(m, mam);
  }

  SmallVector<char, 0> buffer;
  raw_svector_ostream os(buffer);
  legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile)) {
    error = "the BPF target cannot emit object files";
    return false;
  }
  pm.run(m);
  out.assign(buffer.begin(), buffer.end());
  return true;
}

std::string module_text(const Module& m) {
  std::string text;
  raw_string_ostream os(text);
  m.print(os, nullptr);
  os.flush();
  return text;
}

} // namespace moat::codegen
