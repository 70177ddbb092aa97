// Long computations in the core call check_interrupts() now and then, so that a query
// cancel or statement_timeout stops them promptly. The core knows nothing of PostgreSQL:
// the extension installs a checker that throws when the backend has an interrupt pending;
// elsewhere (tests, pgfolio-http, CLIs) the default checker does nothing.
#pragma once

namespace pgfolio {

using InterruptChecker = void (*)();

void set_interrupt_checker(InterruptChecker checker);

// Calls the installed checker, which may throw to abandon the computation.
void check_interrupts();

}  // namespace pgfolio
