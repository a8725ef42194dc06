# Harness self-test: every boot hangs before /init starts; after three
# tries run.sh must fail the scenario, not boot for ever.
# timeout: 30
# init-hang: 3
exit 0
