// Module registration: the magic block PostgreSQL checks on load, and the core's interrupt
// checker, so that long C++ loops honour cancel and statement_timeout.
#include "guard.hpp"
#include "interrupts.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) { pgfolio::set_interrupt_checker(&pgfolio::pg::check_for_interrupts); }
}
