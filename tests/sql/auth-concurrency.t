#!/usr/bin/env bash
# Accounts functions under concurrency (TAP): what a single pgTAP transaction cannot show. Two
# sessions of the running cluster (PGFOLIO_PGPORT) race, the second one's statement waiting
# on the first one's transaction:
#  - the OTP send limit holds when two pgfolio-http instances send to the same phone at once
#    (auth_otp_send counts under a per-phone lock);
#  - two refreshes with the same token: one rotates it, the other is reuse and revokes the
#    session (the token row is locked before it is read);
#  - two MFA logins with the same TOTP code (both checked it against the same last step): one
#    records the step and gets a session, the other is refused (compare-and-set on the user).
# The rows the test commits are deleted at the end.
set -uo pipefail

port=${PGFOLIO_PGPORT:?PGFOLIO_PGPORT is not set}
conn=(-X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d pgfolio)
run=$$
phone=+9197$(printf '%08d' $((run % 100000000)))
user=c0c00000-0000-4000-8000-$(printf '%012d' "$run")
email=concurrency-$run@test.example
work=$(mktemp -d)

source "$(dirname "$0")/tap.sh"
sql() { psql "${conn[@]}" -c "$1" 2>&1; }

cleanup() {
  [ -n "${one_pid:-}" ] && kill "$one_pid" 2>/dev/null
  sql "DELETE FROM pgfolio.otp_challenges WHERE phone = '$phone';
       DELETE FROM pgfolio.outbox WHERE recipient = '$phone';
       DELETE FROM pgfolio.audit_logs WHERE actor_id = '$user';
       DELETE FROM pgfolio.sessions WHERE user_id = '$user';
       DELETE FROM pgfolio.one_time_tokens WHERE user_id = '$user';
       DELETE FROM pgfolio.users WHERE id = '$user';" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

session_name=auth-concurrency
source "$(dirname "$0")/two-sessions.sh"

# --- the OTP send limit ----------------------------------------------------------------------
send="SELECT pgfolio.auth_otp_send('$phone', NULL)"
is "$(sql "SET ROLE pgfolio_api; $send; $send")" \
  '{"success": true, "expiresIn": 120}
{"success": true, "expiresIn": 120}' "two codes sent to $phone"
one "BEGIN; SET LOCAL ROLE pgfolio_api; $send" >"$work/one"
is "$(cat "$work/one")" '{"success": true, "expiresIn": 120}' \
  "session one sends the 3rd, its transaction still open"
two_start "SET ROLE pgfolio_api; $send"
two_waits
ok $? "session two's send waits for session one"
one "COMMIT" >/dev/null
wait "$TWO_PID"
grep -q '"code": "RATE_LIMITED"' "$work/two"
ok $? "once one commits, two's send is the 4th: RATE_LIMITED"
is "$(sql "SELECT count(*) FROM pgfolio.otp_challenges WHERE phone = '$phone'")" 3 \
  "3 codes in all, not 4"

# --- two refreshes with one token ------------------------------------------------------------
h() { printf '%s' "$1-$run" | sha256sum | cut -d' ' -f1; }
sql "INSERT INTO pgfolio.users (id, email, display_name) VALUES ('$user', '$email', 'Racer')" >/dev/null
session=$(sql "SET ROLE pgfolio_api;
  SELECT pgfolio.auth_session_start('$user', '$(h r0)', NULL, 3600) ->> 'sessionId'")
[[ $session =~ ^[0-9a-f-]{36}$ ]]
ok $? "a session with refresh token r0"
one "BEGIN; SET LOCAL ROLE pgfolio_api;
     SELECT pgfolio.auth_refresh('$(h r0)', '$(h r1)', NULL) ->> 'sessionId'" >"$work/one"
is "$(cat "$work/one")" "$session" "session one refreshes r0 into r1, its transaction still open"
two_start "SET ROLE pgfolio_api; SELECT pgfolio.auth_refresh('$(h r0)', '$(h r2)', NULL)"
two_waits
ok $? "session two's refresh with r0 waits for session one"
one "COMMIT" >/dev/null
wait "$TWO_PID"
grep -q '"reason": "refreshReuse"' "$work/two"
ok $? "once one commits, two's refresh is reuse of r0"
is "$(sql "SELECT revoked_reason FROM pgfolio.sessions WHERE id = '$session'")" refresh_reuse \
  "the session is revoked"
is "$(sql "SELECT count(*) FROM pgfolio.refresh_tokens WHERE token_hash = '$(h r2)'")" 0 \
  "r2 was never issued"

# --- two MFA logins with one TOTP code --------------------------------------------------------
sql "UPDATE pgfolio.users SET mfa_enabled = true, totp_secret = '\\x3333333333333333333333333333333333'
     WHERE id = '$user'" >/dev/null
# One step for both, as two pgfolio-http instances matching the same code would send it.
step=$(sql "SELECT floor(extract(epoch FROM now()) / 30)::bigint")
is "$(sql "SET ROLE pgfolio_api;
  SELECT pgfolio.auth_mfa_challenge_start('$user', '$(h c1)') ->> 'mfaRequired';
  SELECT pgfolio.auth_mfa_challenge_start('$user', '$(h c2)') ->> 'mfaRequired';
  SELECT pgfolio.auth_mfa_challenge_take('$(h c1)') ->> 'lastStep' IS NULL;
  SELECT pgfolio.auth_mfa_challenge_take('$(h c2)') ->> 'lastStep' IS NULL")" 'true
true
t
t' "two MFA challenges, both taken while no step was recorded"
one "BEGIN; SET LOCAL ROLE pgfolio_api;
     SELECT pgfolio.auth_mfa_session_start('$(h c1)', '$(h m1)', NULL, 3600, $step) ? 'sessionId'" \
  >"$work/one"
is "$(cat "$work/one")" t "session one opens a session with step $step, its transaction still open"
two_start "SET ROLE pgfolio_api; SELECT pgfolio.auth_mfa_session_start('$(h c2)', '$(h m2)', NULL, 3600, $step)"
two_waits
ok $? "session two's MFA login with the same step waits for session one"
one "COMMIT" >/dev/null
wait "$TWO_PID"
grep -q '"reason": "codeReused"' "$work/two"
ok $? "once one commits, two's login is refused: the code was used"
is "$(sql "SELECT count(*) FROM pgfolio.refresh_tokens WHERE token_hash IN ('$(h m1)', '$(h m2)')")" 1 \
  "one session, not two"
is "$(sql "SELECT totp_last_step FROM pgfolio.users WHERE id = '$user'")" "$step" \
  "the step is recorded"

one_quit
tap_done
