# Harness self-test: boot 1 floods the console with kernel messages while
# it cuts the power, boot 2 while its script ends; run.sh must pass it (the
# verdicts travel on the result channel, not on the console).
# timeout: 300
# boots: 2
noise() {
	while :; do
		echo "cowtest-selftest: console noise COWTEST-RESULT: rc=1" > /dev/kmsg
		echo "COWTEST-POWER-CUT COWTEST-RESULT: rc=1"
	done
}
noise &
noise &
sleep 1
if [ "$COW_BOOT" = 1 ]; then
	power_cut
	sleep 30
	die "still running after power_cut"
fi
log "boot 2 ends with the console still flooded"
