# Two sessions racing on the running cluster, for the shell TAP tests of concurrency
# (tests/sql/*-concurrency.t). Sourced after tap.sh with these set: conn (psql's connection
# options as an array), work (a scratch directory) and session_name (a prefix for
# application_name, so that the waits of this script are told from others').
#   one SQL        runs SQL in session one, a psql kept open so its transaction can stay open
#                  between calls; prints its output
#   two_start SQL  runs SQL in session two, in the background; its output goes to $work/two
#                  and its pid to TWO_PID
#   two_waits      succeeds once session two waits on a lock (gives up after 10 s)
#   one_quit       ends session one (call it before tap_done)

coproc ONE { PGAPPNAME=$session_name-1 psql "${conn[@]}" 2>&1; }
one_pid=$ONE_PID  # bash unsets ONE and ONE_PID once the coprocess ends

one() {
  printf '%s;\n\\echo __end__\n' "$1" >&"${ONE[1]}"
  local line
  while IFS= read -r -t 60 -u "${ONE[0]}" line; do
    [ "$line" = __end__ ] && return 0
    printf '%s\n' "$line"
  done
  return 1
}

two_start() {
  PGAPPNAME=$session_name-2 psql "${conn[@]}" -c "$1" >"$work/two" 2>&1 &
  TWO_PID=$!
}

two_waits() {
  for _ in $(seq 1 100); do
    [ "$(psql "${conn[@]}" -c "SELECT count(*) FROM pg_stat_activity
              WHERE application_name = '$session_name-2' AND wait_event_type = 'Lock'")" = 1 ] &&
      return 0
    sleep 0.1
  done
  return 1
}

# Not through one(): once psql quits, bash unsets ONE, and reading ${ONE[0]} under set -u would
# end the script before the plan line.
one_quit() {
  printf '\\q\n' >&"${ONE[1]}"
  wait "$one_pid" 2>/dev/null
}
