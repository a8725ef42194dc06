# Randomized bad input: table lines and pool messages that are wrong by
# construction (unknown words, wrong counts, bad numbers, unknown or
# duplicate ids, busy volumes).  Each must fail, change nothing visible
# (status and tables of every device identical) and never oops.
# timeout: 900

N=${FUZZ_CASES:-300}
SEED=${FUZZ_SEED:-$(date +%s)}
log "fuzz: $N cases, seed $SEED (FUZZ_SEED=$SEED to repeat)"
load_cowtree
brd_load 3 64
pool_create pool /dev/ram1 /dev/ram0 128
msg pool create 1 live
msg pool create 2 idle
vol_activate pool 1 live 65536
pat_write /dev/mapper/live --tag 1 --gen 1 --length 1M --fsync
all_status > /tmp/before

# A stream of bad cases, one per line: "msg WORDS..." or "pool TABLE" or
# "vol TABLE".  awk's rand() is seeded so a failure can be replayed.
awk -v n=$N -v seed=$SEED '
function pick(s,  a, k) { k = split(s, a, " "); return a[int(rand() * k) + 1] }
function pickbar(s,  a, k) { k = split(s, a, "|"); return a[int(rand() * k) + 1] }
function badnum() { return pick("-1 abc 12abc 0x10 1e9 18446744073709551616 281474976710656 99999999999999999999 1.5 ,") }
function badsize() { return pick("-1 abc 12abc 0x10 18446744073709551616 99999999999999999999 1.5") }
function word(  s, i, l) { l = 1 + int(rand() * 12); s = ""; for (i = 0; i < l; i++) s = s substr("abcdefghijklmnopqrstuvwxyz_", 1 + int(rand() * 27), 1); return s }
function args(k,  s, i) { s = ""; for (i = 0; i < k; i++) s = s " " (rand() < 0.5 ? int(rand() * 50) : word()); return s }
BEGIN {
	srand(seed)
	verbs = "create snapshot delete rollback set_transaction_id set_name set_size reserve_metadata_snap release_metadata_snap"
	for (c = 0; c < n; c++) {
		r = rand()
		if (r < 0.10) { w = word(); if (index(" " verbs " volumes ", " " w " ")) w = w "x"; print "msg " w args(int(rand() * 4)) }
		else if (r < 0.25) {
			v = pick("create delete rollback set_transaction_id set_name set_size")
			need = (v == "delete") ? 1 : 2
			k = need; while (k == need) k = int(rand() * 5)
			print "msg " v args(k)
		}
		else if (r < 0.35) { k = 3 * int(rand() * 3) + 1 + int(rand() * 2); if (rand() < 0.3) k = 0; print "msg snapshot" args(k) }
		else if (r < 0.50) {
			v = pick("create delete rollback set_name set_size snapshot")
			if (v == "create") print "msg create " badnum() " x"
			else if (v == "delete") print "msg delete " badnum()
			else if (v == "rollback") print "msg rollback " (rand() < 0.5 ? badnum() " 2" : "2 " badnum())
			else if (v == "set_name") print "msg set_name " badnum() " y"
			else if (v == "set_size") print "msg set_size " (rand() < 0.5 ? badnum() " 8" : "2 " badsize())
			else print "msg snapshot " (rand() < 0.5 ? badnum() " 2 s" : "30 " badnum() " s")
		}
		else if (r < 0.65) print "msg " pick("create_1_dup create_2_dup delete_1_busy delete_unknown rollback_unknown rollback_busy snapshot_busy snapshot_dup snapshot_unknown set_name_unknown settx_wrong release_none name_long")
		else if (r < 0.85) {
			k = int(rand() * 4)
			f = pick("skip_zeroing ignore_discard bogus read_only error_if_no_space 7 -1")
			cs = pick("0 1 7 12 100 4096 8192 -8 abc 128")
			lw = pick("16 -1 abc 18446744073709551616")
			if (cs == 128 && lw == 16) cs = 129
			t = "0 131072 cowtree-pool /dev/ram2 /dev/ram0 " cs " " lw
			if (rand() < 0.3) t = "0 131072 cowtree-pool /dev/ram2" args(k)
			else if (rand() < 0.5) t = t " " (k + 1) " " f
			print "pool " t
		}
		else {
			t = pickbar("0 65536 cowtree /dev/mapper/pool 999|0 65536 cowtree /dev/mapper/pool " badnum() "|0 65536 cowtree /dev/ram0 1|0 65536 cowtree /dev/mapper/pool|0 65536 cowtree /dev/mapper/pool 1 2|0 65536 cowtree /dev/nonexistent 1")
			print "vol " t
		}
	}
}' > /tmp/cases
i=0 fails=0
while read -r kind rest; do
	i=$((i + 1))
	case $kind in
	msg)
		set -- $rest
		case $1 in
		create_1_dup) set -- create 1 again ;;
		create_2_dup) set -- create 2 again ;;
		delete_1_busy) set -- delete 1 ;;
		delete_unknown) set -- delete 4242 ;;
		rollback_unknown) set -- rollback 2 4242 ;;
		rollback_busy) set -- rollback 1 2 ;;
		snapshot_busy) set -- snapshot 30 1 s ;;
		snapshot_dup) set -- snapshot 2 2 s ;;
		snapshot_unknown) set -- snapshot 30 4242 s ;;
		set_name_unknown) set -- set_name 4242 z ;;
		settx_wrong) set -- set_transaction_id 77 78 ;;
		release_none) set -- release_metadata_snap ;;
		name_long) set -- create 31 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ;;
		esac
		if dmsetup message pool 0 "$@" 2>/dev/null; then
			echo "case $i: message '$*' was accepted"
			fails=$((fails + 1))
		fi
		;;
	pool|vol)
		if dmsetup create fz --table "$rest" 2>/dev/null; then
			echo "case $i: $kind table '$rest' was accepted"
			dmsetup remove fz
			fails=$((fails + 1))
		fi
		dmsetup remove fz 2>/dev/null || true
		;;
	esac
	all_status > /tmp/after
	if ! cmp -s /tmp/before /tmp/after; then
		diff /tmp/before /tmp/after || true
		die "case $i ($kind $rest) changed the state"
	fi
done < /tmp/cases
pat_verify /dev/mapper/live --tag 1 --gen 1 --length 1M
[ $fails = 0 ] || die "$fails of $i bad inputs were accepted (seed $SEED)"
log "fuzz: $i bad inputs refused, state unchanged"
