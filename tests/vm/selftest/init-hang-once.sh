# Harness self-test: the first boot hangs before /init starts (as a TCG
# guest stuck in the kernel's crypto self-tests on a loaded host did);
# run.sh must boot again and pass on the second try.
# timeout: 60
# init-hang: 1
exit 0
