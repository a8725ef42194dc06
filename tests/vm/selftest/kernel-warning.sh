# Harness self-test: the script succeeds, but the kernel log carries a
# WARNING report, so run.sh must fail the scenario.
# timeout: 300
echo "WARNING: CPU: 0 PID: 1 at cowtest-selftest (simulated report)" > /dev/kmsg
sleep 1
