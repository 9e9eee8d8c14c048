// BpfBuilder: an LLVM module for the BPF target with the scaffolding every eBPF object
// needs — BTF-described maps in `.maps` (DIBuilder), the license section, helper calls,
// program functions with debug info (so the BPF backend emits .BTF and .BTF.ext).
// It knows nothing about policies; backend/codegen/datapath.cpp uses it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace moat::codegen {

/// One BTF-defined map. key_size/value_size 0 = omitted (ring buffers).
struct MapSpec {
  std::string name;
  uint32_t type = 0;  // BPF_MAP_TYPE_*
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;  // BPF_F_*
};

class BpfBuilder {
public:
  explicit BpfBuilder(const std::string& module_name);
  ~BpfBuilder();
  BpfBuilder(const BpfBuilder&) = delete;
  BpfBuilder& operator=(const BpfBuilder&) = delete;

  llvm::LLVMContext& ctx() { return *ctx_; }
  llvm::Module& module() { return *module_; }
  llvm::IRBuilder<>& ir() { return *ir_; }

  /// A global in `.maps` whose debug type is libbpf's BTF map definition:
  /// struct { int (*type)[T]; int (*key_size)[K]; ... }.
  llvm::GlobalVariable* add_map(const MapSpec& spec);
  /// A zero-initialised u32 global in `.bss`, described in BTF (a DATASEC): libbpf makes the
  /// section a one-entry array map that user space writes, and the program reads the value
  /// with one load from a constant address (no helper call, no null check).
  llvm::GlobalVariable* add_global_u32(const std::string& name);
  /// The `license` section; the kernel needs a GPL-compatible one for some helpers.
  void add_license(const std::string& license);

  /// Defines `i32 name(ptr ctx)` (a program when `section` is set, else an always-inline
  /// internal function with extra i32 parameters), with a DISubprogram, and positions the
  /// builder at its entry with a debug location in its scope.
  llvm::Function* begin_function(const std::string& name, const std::string& section,
                                 unsigned extra_i32_params, unsigned line);

  /// Calls BPF helper `id` (BPF_FUNC_*): `call id`.
  llvm::Value* call_helper(uint32_t id, llvm::Type* ret, llvm::ArrayRef<llvm::Value*> args);

  /// Finalizes debug info and checks the module; returns false with `error` set on failure.
  bool finish(std::string& error);

  llvm::Type* i8() { return ir_->getInt8Ty(); }
  llvm::Type* i16() { return ir_->getInt16Ty(); }
  llvm::Type* i32() { return ir_->getInt32Ty(); }
  llvm::Type* i64() { return ir_->getInt64Ty(); }
  llvm::Type* ptr() { return ir_->getPtrTy(); }

private:
  llvm::DIType* int_array_ptr(uint64_t count);

  std::unique_ptr<llvm::LLVMContext> ctx_;
  std::unique_ptr<llvm::Module> module_;
  std::unique_ptr<llvm::IRBuilder<>> ir_;
  std::unique_ptr<llvm::DIBuilder> di_;
  llvm::DICompileUnit* cu_ = nullptr;
  llvm::DIFile* file_ = nullptr;
  llvm::DIBasicType* di_int_ = nullptr;
  llvm::DIBasicType* di_u32_ = nullptr;
  llvm::DIType* di_ctx_ptr_ = nullptr;
};

} // namespace moat::codegen
