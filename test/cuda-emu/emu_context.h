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

class Context {
 public:
  // A context that starts entry() on the given stack the first time it is entered;
  // entry never returns (it switches away for the last time).
  void start(char* stack, size_t bytes, void (*entry)());
  // Saves the running context into *this and enters `to`.
  void switch_to(Context& to);

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
