# TAP for the shell test scripts (tests/sql/*.t), sourced by each: ok and is print a test
# line and count it; tap_done prints the plan, which comes last since the count is only
# known at the end, and fails when a test did.
tests=0
failed=0
ok() { # condition-status description
  tests=$((tests + 1))
  if [ "$1" -eq 0 ]; then echo "ok $tests - $2"; else echo "not ok $tests - $2"; failed=$((failed + 1)); fi
}
is() { # have want description
  if [ "$1" = "$2" ]; then ok 0 "$3"; else
    ok 1 "$3"
    printf '# have: %s\n# want: %s\n' "${1:0:500}" "${2:0:500}"
  fi
}
diag() { sed 's/^/# /'; }
tap_done() {
  echo "1..$tests"
  [ "$failed" -eq 0 ]
}
