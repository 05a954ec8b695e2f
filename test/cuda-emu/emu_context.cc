// The x86-64 context switch of emu_context.h (which says why it is our own).
#include "emu_context.h"

#if defined(__x86_64__)

namespace tg_emu {

extern "C" void tg_emu_switch_stack(void** save_sp, void* load_sp);
asm(R"(
  .text
  .p2align 4
  .globl tg_emu_switch_stack
  .type tg_emu_switch_stack, @function
tg_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw 12(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw 12(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size tg_emu_switch_stack, .-tg_emu_switch_stack
  .section .note.GNU-stack,"",@progbits
  .text
)");

// The first switch into the context pops what tg_emu_switch_stack would have pushed.
void Context::start(char* stack, size_t bytes, void (*entry)()) {
  auto top = reinterpret_cast<uintptr_t>(stack + bytes) & ~uintptr_t(15);
  auto* slot = reinterpret_cast<uint64_t*>(top);
  *--slot = 0;                                   // entry's return address: none
  *--slot = reinterpret_cast<uint64_t>(entry);   // where the first switch returns to
  for (int r = 0; r < 6; ++r) *--slot = 0;       // rbp, rbx, r12-r15
  slot -= 2;
  const uint32_t mxcsr = 0x1f80;                 // the ABI's initial control words
  const uint16_t x87 = 0x037f;
  __builtin_memcpy(reinterpret_cast<char*>(slot) + 8, &mxcsr, 4);
  __builtin_memcpy(reinterpret_cast<char*>(slot) + 12, &x87, 2);
  sp_ = slot;
}

void Context::switch_to(Context& to) { tg_emu_switch_stack(&sp_, to.sp_); }

}  // namespace tg_emu

#endif
