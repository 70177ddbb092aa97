\echo Use "CREATE EXTENSION pgfolio_test" to load this file. \quit

-- Throws from 20 C++ frames down (extension/pg/test_functions.cpp), by kind:
--   domain        pgfolio::Error NOT_FOUND          -> PF404 with JSON details
--   std           std::runtime_error                -> PF500
--   bad_alloc     std::bad_alloc                    -> 53200
--   std_in_guard  std::runtime_error inside pg_guard -> PF500
--   pg            a PostgreSQL error in SPI, with a 200 kB message -> 22P02, message intact
-- Any other kind is a PF400 validation error.
CREATE FUNCTION throw_error(kind text) RETURNS void
LANGUAGE c STRICT AS '$libdir/pgfolio', 'pgfolio_test_throw';

-- Loops in C++ until cancelled or timed out.
CREATE FUNCTION spin() RETURNS void
LANGUAGE c AS '$libdir/pgfolio', 'pgfolio_test_spin';
