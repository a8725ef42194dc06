# Harness self-test: boot 1 reports a power cut but hangs instead (the
# reset never comes); run.sh must fail it as killed by the timeout, not
# take the line for a cut.
# timeout: 60
# boots: 2
[ "$COW_BOOT" = 1 ] || exit 0
cow_result COWTEST-POWER-CUT
sleep 100000
