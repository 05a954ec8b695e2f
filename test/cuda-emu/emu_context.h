// The emulator's context switch between fibers. glibc's swapcontext saves and
// restores the signal mask with a system call on every switch, and an emulated
// warp collective switches 64 times, so on x86-64 the switch is our own: it saves
// only what the ABI says a call preserves (rbx, rbp, r12-r15, the MXCSR and x87
// control words) on the stack being left, and returns on the stack being entered.
// Elsewhere the ucontext functions do the same, more slowly.
#pragma once
#include <cstddef>
#include <cstdint>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace tg_emu {

#if defined(__x86_64__)

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

class Context {
 public:
  // A context that starts entry() on the given stack the first time it is entered;
  // entry never returns (it switches away for the last time).
  void start(char* stack, size_t bytes, void (*entry)()) {
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
  // Saves the running context into *this and enters `to`.
  void switch_to(Context& to) { tg_emu_switch_stack(&sp_, to.sp_); }

 private:
  void* sp_ = nullptr;
};

#else

class Context {
 public:
  void start(char* stack, size_t bytes, void (*entry)()) {
    getcontext(&ctx_);
    ctx_.uc_stack.ss_sp = stack;
    ctx_.uc_stack.ss_size = bytes;
    ctx_.uc_link = nullptr;
    makecontext(&ctx_, entry, 0);
  }
  void switch_to(Context& to) { swapcontext(&ctx_, &to.ctx_); }

 private:
  ucontext_t ctx_;
};

#endif

}  // namespace tg_emu
