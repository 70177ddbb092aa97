\echo Use "CREATE EXTENSION pgfolio_test" to load this file. \quit

-- kind: domain | std | bad_alloc | pg. Throws from 20 C++ frames down.
CREATE FUNCTION throw_error(kind text) RETURNS void
LANGUAGE c STRICT AS '$libdir/pgfolio', 'pgfolio_test_throw';

-- Loops in C++ until cancelled or timed out.
CREATE FUNCTION spin() RETURNS void
LANGUAGE c AS '$libdir/pgfolio', 'pgfolio_test_spin';
