# Harness self-test: the first boot hangs before /init starts and the
# scenario's timeout is long; run.sh's init watchdog must kill that boot
# after init-timeout, not wait for the timeout, and pass on the second try.
# timeout: 900
# init-timeout: 20
# init-hang: 1
exit 0
