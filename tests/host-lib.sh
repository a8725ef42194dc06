# SPDX-License-Identifier: GPL-2.0-only
# Shared by the host test scripts (tests/tools/run.sh, tests/cli/run.sh):
# PASS/FAIL counting and the dmcowctl binary under test.  The sourcing
# script sets $top (the source tree) first.

passed=0 failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
ko() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }

# host_setup SUITE: D is the dmcowctl to test (DMCOWCTL, else built here:
# a build failure ends the suite with its result line), and the script
# goes on in a scratch directory ($tmp) removed at exit.
host_setup() {
	if [[ -z ${DMCOWCTL:-} ]]; then
		if ! make -s -C "$top/tools/dmcowctl" > /dev/null; then
			ko "dmcowctl builds"
			echo "$1: $passed passed, $failed failed"
			exit 1
		fi
		DMCOWCTL=$top/tools/dmcowctl/build/dmcowctl
	fi
	D=$DMCOWCTL
	tmp=$(mktemp -d "/tmp/dmcowctl-$1.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	cd "$tmp" || exit 1
}
