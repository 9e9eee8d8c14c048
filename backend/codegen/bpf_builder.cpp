// BpfBuilder: module scaffolding for BPF objects (maps as BTF, license, helpers, debug info).
#include "backend/codegen/bpf_builder.h"

#include <llvm/BinaryFormat/Dwarf.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

namespace moat::codegen {

using namespace llvm;

BpfBuilder::BpfBuilder(const std::string& module_name)
    : ctx_(std::make_unique<LLVMContext>()),
      module_(std::make_unique<Module>(module_name, *ctx_)),
      ir_(std::make_unique<IRBuilder<>>(*ctx_)),
      di_(std::make_unique<DIBuilder>(*module_)) {
  // The BPF backend emits .BTF/.BTF.ext only for modules with debug info.
  module_->addModuleFlag(Module::Warning, "Debug Info Version", DEBUG_METADATA_VERSION);
  module_->addModuleFlag(Module::Warning, "Dwarf Version", 5);
  file_ = di_->createFile(module_name + ".moat-datapath", ".");
  cu_ = di_->createCompileUnit(dwarf::DW_LANG_C11, file_, "moat", /*isOptimized=*/true, "", 0);
  di_int_ = di_->createBasicType("int", 32, dwarf::DW_ATE_signed);
  di_u32_ = di_->createBasicType("unsigned int", 32, dwarf::DW_ATE_unsigned);
  // Programs take `struct __sk_buff *`; a forward declaration is enough for BTF.
  DICompositeType* skb = di_->createForwardDecl(dwarf::DW_TAG_structure_type, "__sk_buff", cu_, file_, 0);
  di_ctx_ptr_ = di_->createPointerType(skb, 64);
}

BpfBuilder::~BpfBuilder() = default;

DIType* BpfBuilder::int_array_ptr(uint64_t count) {
  // libbpf reads a map attribute's value from the element count of `int (*)[N]`.
  DINodeArray sub = di_->getOrCreateArray({di_->getOrCreateSubrange(0, static_cast<int64_t>(count))});
  DICompositeType* arr = di_->createArrayType(count * 32, 32, di_int_, sub);
  return di_->createPointerType(arr, 64);
}

GlobalVariable* BpfBuilder::add_map(const MapSpec& spec) {
  std::vector<std::pair<const char*, uint32_t>> fields = {{"type", spec.type}};
  if (spec.key_size) fields.emplace_back("key_size", spec.key_size);
  if (spec.value_size) fields.emplace_back("value_size", spec.value_size);
  fields.emplace_back("max_entries", spec.max_entries);
  if (spec.flags) fields.emplace_back("map_flags", spec.flags);

  std::vector<Type*> ir_fields(fields.size(), ptr());
  StructType* st = StructType::create(*ctx_, ir_fields, "struct." + spec.name + "_def");
  auto* gv = new GlobalVariable(*module_, st, /*isConstant=*/false, GlobalValue::ExternalLinkage,
                                ConstantAggregateZero::get(st), spec.name);
  gv->setSection(".maps");
  gv->setAlignment(Align(8));
  gv->setDSOLocal(true);

  std::vector<Metadata*> members;
  uint64_t offset = 0;
  for (const auto& [name, value] : fields) {
    members.push_back(di_->createMemberType(cu_, name, file_, 0, 64, 0, offset, DINode::FlagZero,
                                            int_array_ptr(value)));
    offset += 64;
  }
  DICompositeType* def = di_->createStructType(cu_, "", file_, 0, offset, 0, DINode::FlagZero, nullptr,
                                               di_->getOrCreateArray(members));
  gv->addDebugInfo(di_->createGlobalVariableExpression(cu_, spec.name, "", file_, 0, def,
                                                       /*IsLocalToUnit=*/false));
  return gv;
}

GlobalVariable* BpfBuilder::add_global_u32(const std::string& name) {
  auto* gv = new GlobalVariable(*module_, i32(), /*isConstant=*/false, GlobalValue::ExternalLinkage,
                                ir_->getInt32(0), name);
  gv->setSection(".bss");
  gv->setAlignment(Align(4));
  gv->setDSOLocal(true);
  // The debug info makes the BPF backend emit the VAR and its .bss DATASEC into .BTF.
  gv->addDebugInfo(di_->createGlobalVariableExpression(cu_, name, "", file_, 0, di_u32_, /*IsLocalToUnit=*/false));
  return gv;
}

void BpfBuilder::add_license(const std::string& license) {
  Constant* text = ConstantDataArray::getString(*ctx_, license, /*AddNull=*/true);
  auto* gv = new GlobalVariable(*module_, text->getType(), true, GlobalValue::ExternalLinkage, text,
                                "_license");
  gv->setSection("license");
  gv->setAlignment(Align(1));
}

Function* BpfBuilder::begin_function(const std::string& name, const std::string& section,
                                     unsigned extra_i32_params, unsigned line) {
  std::vector<Type*> params = {ptr()};
  params.insert(params.end(), extra_i32_params, i32());
  FunctionType* ft = FunctionType::get(i32(), params, false);
  bool program = !section.empty();
  Function* f = Function::Create(ft, program ? GlobalValue::ExternalLinkage : GlobalValue::InternalLinkage,
                                 name, *module_);
  f->addFnAttr(Attribute::NoUnwind);
  if (program) {
    f->setSection(section);
  } else {
    f->addFnAttr(Attribute::AlwaysInline);
  }

  std::vector<Metadata*> sig = {di_int_, di_ctx_ptr_};
  sig.insert(sig.end(), extra_i32_params, di_int_);
  DISubroutineType* sty = di_->createSubroutineType(di_->getOrCreateTypeArray(sig));
  DISubprogram* sp = di_->createFunction(
      cu_, name, name, file_, line, sty, line, DINode::FlagPrototyped,
      DISubprogram::SPFlagDefinition | DISubprogram::SPFlagOptimized |
          (program ? DISubprogram::SPFlagZero : DISubprogram::SPFlagLocalToUnit));
  f->setSubprogram(sp);
  // BTF FUNC records need named parameters; they come from the parameter variables.
  di_->createParameterVariable(sp, "ctx", 1, file_, line, di_ctx_ptr_, /*AlwaysPreserve=*/true);
  for (unsigned i = 0; i < extra_i32_params; ++i)
    di_->createParameterVariable(sp, "arg" + std::to_string(i + 1), i + 2, file_, line, di_int_, true);

  BasicBlock* entry = BasicBlock::Create(*ctx_, "entry", f);
  ir_->SetInsertPoint(entry);
  ir_->SetCurrentDebugLocation(DILocation::get(*ctx_, line, 1, sp));
  return f;
}

Value* BpfBuilder::call_helper(uint32_t id, Type* ret, ArrayRef<Value*> args) {
  std::vector<Type*> types;
  for (Value* a : args) types.push_back(a->getType());
  FunctionType* ft = FunctionType::get(ret, types, false);
  // The BPF backend lowers a call through a constant address to `call <helper id>`.
  Value* callee = ConstantExpr::getIntToPtr(ir_->getInt64(id), ptr());
  return ir_->CreateCall(ft, callee, args);
}

bool BpfBuilder::finish(std::string& error) {
  di_->finalize();
  raw_string_ostream os(error);
  if (verifyModule(*module_, &os)) {
    os.flush();
    return false;
  }
  return true;
}

} // namespace moat::codegen
