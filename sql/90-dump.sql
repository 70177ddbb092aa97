-- pg_dump carries pgfolio's data: tables created by the extension script are left out of a
-- dump unless registered here. Rows the script itself inserts (builtin currencies) are left
-- to CREATE EXTENSION on restore.
SELECT pg_catalog.pg_extension_config_dump('currencies', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('assets', '');
SELECT pg_catalog.pg_extension_config_dump('prices', '');
SELECT pg_catalog.pg_extension_config_dump('price_history', '');
SELECT pg_catalog.pg_extension_config_dump('fx_rates', '');
SELECT pg_catalog.pg_extension_config_dump('fx_rate_history', '');
SELECT pg_catalog.pg_extension_config_dump('users', '');
SELECT pg_catalog.pg_extension_config_dump('portfolios', '');
SELECT pg_catalog.pg_extension_config_dump('holdings', '');
SELECT pg_catalog.pg_extension_config_dump('sessions', '');
SELECT pg_catalog.pg_extension_config_dump('refresh_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('otp_challenges', '');
SELECT pg_catalog.pg_extension_config_dump('otp_challenges_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('one_time_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('outbox', '');
SELECT pg_catalog.pg_extension_config_dump('outbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit_logs', '');
SELECT pg_catalog.pg_extension_config_dump('audit_logs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_entry_types', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('ledger', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('action_log', '');
SELECT pg_catalog.pg_extension_config_dump('action_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('transactions', '');
