#include "interrupts.hpp"

namespace pgfolio {
namespace {
void ignore_interrupts() {}
InterruptChecker current_checker = &ignore_interrupts;
}  // namespace

void set_interrupt_checker(InterruptChecker checker) {
  current_checker = checker ? checker : &ignore_interrupts;
}

void check_interrupts() { current_checker(); }

}  // namespace pgfolio
