# Harness self-test: boot 1 reports a power cut but goes on and fails (the
# cut did not happen); run.sh must fail the scenario in boot 1.
# timeout: 300
# boots: 2
[ "$COW_BOOT" = 1 ] || exit 0
cow_result COWTEST-POWER-CUT
die "still running after power_cut"
