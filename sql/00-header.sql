-- pgfolio extension script, assembled by the Makefile from the numbered fragments in sql/
-- and the job definitions in jobs/. Edit the fragments, never the assembled file.
\echo Use "CREATE EXTENSION pgfolio CASCADE" to load this file. \quit
