# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/tools/run.sh (uses D, ok, ko, expect_rc, top, pool.img):
#  - the crafted corrupt images in tests/fixtures must be rejected by
#    'dmcowctl check' with the expected message (corrupt-images.txt);
#  - cowfuzz (tests/tools/cowfuzz.c) corrupts pool.img in HOST_FUZZ_CASES
#    ways (default 2000, about a minute: every kind on every block class
#    of the image, on random blocks; LONG=1: 10000); check must reject
#    every strict case (damage the format detects) and never crash on the
#    others.

fixtures=$top/tests/fixtures
while read -r file want pattern; do
	[[ -z $file || $file == \#* ]] && continue
	if ! gzip -dc "$fixtures/$file" > fixture.img; then
		ko "fixture $file" "cannot decompress"
		continue
	fi
	expect_rc "fixture $file rejected" "$want" "$D" check fixture.img
	if grep -qE "$pattern" out.txt err.txt; then
		ok "fixture $file: expected message"
	else
		ko "fixture $file: expected message" "want /$pattern/, got: $(head -3 out.txt err.txt)"
	fi
done < "$fixtures/corrupt-images.txt"

if make -s -C "$top/tests/tools" > /dev/null; then
	F=$top/tests/tools/build/cowfuzz
	n=${HOST_FUZZ_CASES:-2000} seed=${HOST_FUZZ_SEED:-7}
	strict=0 missed=0 crashed=0 nonstrict_found=0 i=0
	"$F" classify pool.img > classes.txt || ko "cowfuzz classify"
	while ((i < n)); do
		line=$("$F" corrupt pool.img fz.img --case "$i" --seed "$seed") || {
			ko "cowfuzz corrupt case $i"
			break
		}
		"$D" check fz.img > /dev/null 2>&1
		rc=$?
		if ((rc > 2)); then
			crashed=$((crashed + 1))
			echo "check crashed (exit $rc): $line"
		elif [[ $line == *strict=1* ]]; then
			strict=$((strict + 1))
			if ((rc == 0)); then
				missed=$((missed + 1))
				echo "check missed: $line"
			fi
		elif ((rc != 0)); then
			nonstrict_found=$((nonstrict_found + 1))
		fi
		i=$((i + 1))
	done
	if ((missed == 0 && crashed == 0 && strict > 0)); then
		ok "cowfuzz: check rejects all $strict strict of $i corruptions ($nonstrict_found of $((i - strict)) payload flips too; seed $seed)"
	else
		ko "cowfuzz" "$missed of $strict strict corruptions missed, $crashed crashes (seed $seed)"
	fi
else
	ko "cowfuzz builds"
fi
