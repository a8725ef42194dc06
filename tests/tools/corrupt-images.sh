# SPDX-License-Identifier: GPL-2.0-only
# Sourced by tests/tools/run.sh (uses D, ok, ko, expect_rc, top, pool.img):
#  - the crafted corrupt images in tests/fixtures must be rejected by
#    'dmcowctl check' with the expected message (corrupt-images.txt);
#  - cowfuzz (tests/tools/cowfuzz.c) corrupts two images in HOST_FUZZ_CASES
#    ways in all (default 2000, half on each; every kind on every block
#    class of the image, on random blocks; LONG=1: 10000): pool.img, and
#    rich.img made by cowmkimg through the metadata core, which has a held
#    root, a dead list and a deleting record, and internal nodes in every
#    btree (mapping, volumes, dead list, data space map index): every
#    block class cowfuzz knows, each damaged in every way (this needs
#    HOST_FUZZ_CASES >= 196).  The dmcowctl checking them is built with
#    AddressSanitizer and UBSan; it must reject every strict case (damage
#    the format detects) with exit 1 (2 for a truncated device: refused at
#    open), exit 0 or 1 on the others, and never crash, trip a sanitizer
#    (one case in 8 also checks for leaks) or exit otherwise.

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

if make -s -C "$top/tests/tools" > build.log 2>&1; then
	F=$top/tests/tools/build/cowfuzz
	S=$top/tests/tools/build/san/dmcowctl
	n=${HOST_FUZZ_CASES:-2000} seed=${HOST_FUZZ_SEED:-7}
	# The sanitizers exit 99 (not dmcowctl's 1 or 2) and abort on any report.
	export UBSAN_OPTIONS=exitcode=99:halt_on_error=1:print_stacktrace=1
	if "$top/tests/tools/build/cowmkimg" rich.img &&
	   ASAN_OPTIONS=exitcode=99 "$S" check --strict-leaks rich.img > out.txt 2>&1; then
		ok "cowmkimg: an image with a held root, a dead list, a deleting record and internal nodes in every btree, clean"
	else
		ko "cowmkimg image" "$(head -5 out.txt)"
	fi
	"$F" classify rich.img > classes.txt || ko "cowfuzz classify rich.img"
	missing=""
	for c in sb msm-root msm-index msm-rc dsm-rc held map-leaf map-internal vol-leaf \
		 vol-internal dead-leaf dead-internal dsm-leaf dsm-internal; do
		grep -q "^count $c [1-9]" classes.txt || missing="$missing $c"
	done
	[[ -z $missing ]] && ok "rich.img has every block class" ||
		ko "rich.img has every block class" "missing:$missing"
	# fuzz_image IMG: n/2 cases on IMG; counts to IMG.counts, lines to IMG.log.
	fuzz_image() {
		local img=$1 i line rc strict=0 missed=0 crashed=0 odd=0 found=0 total=0
		for ((i = 0; i < n / 2; i++)); do
			line=$("$F" corrupt $img $img.fz --case "$i" --seed "$seed") || {
				echo "cowfuzz corrupt $img case $i failed"
				crashed=$((crashed + 1))
				break
			}
			ASAN_OPTIONS=exitcode=99:detect_leaks=$((i % 8 == 0)) \
				"$S" check $img.fz > /dev/null 2> $img.err
			rc=$?
			total=$((total + 1))
			echo "$line" >> $img.cases
			if ((rc > 2)); then
				crashed=$((crashed + 1))
				echo "check crashed or a sanitizer fired (exit $rc) on $img: $line"
				grep -m3 -E 'ERROR|runtime error|SUMMARY' $img.err
			elif [[ $line == *strict=1* ]]; then
				strict=$((strict + 1))
				# A device too small is refused at open (exit 2).
				if ((rc != 1)) && [[ $rc != 2 || $line != *how=trunc* ]]; then
					missed=$((missed + 1))
					echo "check exit $rc, not 1, on $img: $line"
				fi
			elif ((rc == 2)); then
				odd=$((odd + 1))
				echo "check could not check (exit 2) $img: $line"
			elif ((rc != 0)); then
				found=$((found + 1))
			fi
		done > $img.log
		echo "$strict $missed $crashed $odd $found $total" > $img.counts
	}
	# One image per CPU (make check runs alone on 2 cores).
	rm -f pool.img.cases rich.img.cases
	fuzz_image pool.img &
	fuzz_image rich.img &
	wait
	strict=0 missed=0 crashed=0 odd=0 nonstrict_found=0 total=0
	for img in pool.img rich.img; do
		cat $img.log
		read -r a b c d e f < $img.counts || { a=0; c=1; }
		strict=$((strict + a)) missed=$((missed + b)) crashed=$((crashed + c))
		odd=$((odd + d)) nonstrict_found=$((nonstrict_found + e)) total=$((total + f))
	done
	# Every class of rich.img was fuzzed, every kind on its internal nodes.
	missing=""
	for c in $(sed -n 's/^count \([a-z-]*\) [1-9].*/\1/p' classes.txt); do
		for h in flip zero dup stale header field; do
			[[ $c == sb && $h == header ]] && continue
			grep -q "how=$h class=$c " rich.img.cases || missing="$missing $h/$c"
		done
	done
	[[ -z $missing ]] && ok "cowfuzz: every kind of damage on every block class of rich.img" ||
		ko "cowfuzz: every kind of damage on every block class of rich.img" "missing:$missing"
	if ((missed == 0 && crashed == 0 && odd == 0 && strict > 0)); then
		ok "cowfuzz: sanitized check rejects all $strict strict of $total corruptions ($nonstrict_found of $((total - strict)) payload flips too; seed $seed)"
	else
		ko "cowfuzz" "$missed of $strict strict corruptions missed, $crashed crashes or sanitizer reports, $odd exit 2 (seed $seed)"
	fi
else
	ko "cowfuzz, cowmkimg and the sanitized dmcowctl build" "$(tail -5 build.log)"
fi
