// leave_to_exit(x): a command's large structures (the Module, the inventory, the source
// text), finished with just before the process exits, are handed to the exit instead of
// their destructors: the kernel drops the whole address space at once, where destructors
// walk every rule's and every pod's allocations one by one (about 0.1 s of a cluster-scale
// check, on one core, after the report is printed). Under the sanitizers they are destroyed
// as usual, so a leak checker still sees every other allocation freed.
#pragma once
#include <utility>

namespace moat::cli {

#if defined(__SANITIZE_ADDRESS__)
#define MOAT_DESTROY_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOAT_DESTROY_AT_EXIT 1
#endif
#endif

template <class T>
void leave_to_exit(T& value) {
#ifndef MOAT_DESTROY_AT_EXIT
  new T(std::move(value));  // never deleted: the process ends after the command
  value = T();
#endif
}

} // namespace moat::cli
