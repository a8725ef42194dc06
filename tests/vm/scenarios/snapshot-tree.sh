# Snapshots of snapshots: a chain 21 volumes deep where each level adds its
# own region, and a tree whose branches are written independently (also
# the same region with different data); every volume reads exactly its own
# history.
# needs: target
# timeout: 500

load_cowtree
brd_load 2 128
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 4)
R=65536			# 64 KiB: one chunk per region

# ---- chain: id 1 <- 2 <- ... <- 21 ----
log "chain: level 1 gets gen 1 everywhere"
vol_create pool 1 c1 $sz
pat_write /dev/mapper/c1 --tag 1 --gen 1 --record /tmp/c1.map
depth=21
i=2
while [ $i -le $depth ]; do
	p=$((i - 1))
	snapshot pool $i $p c$i
	cp /tmp/c$p.map /tmp/c$i.map
	vol_deactivate c$p
	vol_activate pool $i c$i $sz
	# each level writes its own region (and a block of its parent's region)
	pat_write /dev/mapper/c$i --tag 1 --gen $i --offset $(((i - 2) * R)) --length $R --record /tmp/c$i.map
	if [ $i -gt 2 ]; then
		pat_write /dev/mapper/c$i --tag 1 --gen $((1000 + i)) --offset $(((i - 3) * R + 4096)) --length 4k --record /tmp/c$i.map
	fi
	i=$((i + 1))
done
log "check: every level of the chain reads its own history"
i=1
while [ $i -le $depth ]; do
	[ -b /dev/mapper/c$i ] || vol_activate pool $i c$i $sz
	pat_verify /dev/mapper/c$i --map /tmp/c$i.map
	i=$((i + 1))
done
log "check: writing the chain's root changes no descendant"
pat_write /dev/mapper/c1 --tag 1 --gen 99 --record /tmp/c1.map
pat_verify /dev/mapper/c1 --map /tmp/c1.map
pat_verify /dev/mapper/c$depth --map /tmp/c$depth.map
pat_verify /dev/mapper/c2 --map /tmp/c2.map
i=1
while [ $i -le $depth ]; do
	vol_deactivate c$i
	i=$((i + 1))
done

# ---- tree ----
#        r(100)
#       /      \
#    a(101)   b(102)
#    /   \       \
# a1(103) a2(104) b1(105)
log "tree: root, two children, grandchildren, written independently"
vol_create pool 100 r $sz
pat_write /dev/mapper/r --tag 100 --gen 1 --record /tmp/r.map
snapshot pool 101 100 a
snapshot pool 102 100 b
cp /tmp/r.map /tmp/a.map
cp /tmp/r.map /tmp/b.map
vol_activate pool 101 a $sz
vol_activate pool 102 b $sz
# same region, different data in the two branches
pat_write /dev/mapper/a --tag 101 --gen 2 --offset 0 --length $R --record /tmp/a.map
pat_write /dev/mapper/b --tag 102 --gen 3 --offset 0 --length $R --record /tmp/b.map
snapshot pool 103 101 a1 104 101 a2
snapshot pool 105 102 b1
cp /tmp/a.map /tmp/a1.map
cp /tmp/a.map /tmp/a2.map
cp /tmp/b.map /tmp/b1.map
vol_activate pool 103 a1 $sz
vol_activate pool 104 a2 $sz
vol_activate pool 105 b1 $sz
pat_write /dev/mapper/a1 --tag 103 --gen 4 --offset $R --length $R --record /tmp/a1.map
pat_write /dev/mapper/a2 --tag 104 --gen 5 --offset $R --length $R --record /tmp/a2.map
pat_write /dev/mapper/b1 --tag 105 --gen 6 --offset $((2 * R)) --length $R --record /tmp/b1.map
pat_write /dev/mapper/r --tag 100 --gen 7 --offset $((3 * R)) --length $R --record /tmp/r.map
pat_write /dev/mapper/a --tag 101 --gen 8 --offset $((4 * R)) --length $R --record /tmp/a.map
pat_write /dev/mapper/b1 --tag 105 --gen 9 --offset $((5 * R + 8192)) --length 4k --record /tmp/b1.map
for v in r a b a1 a2 b1; do
	log "check: tree volume $v"
	pat_verify /dev/mapper/$v --map /tmp/$v.map
done

log "check: a snapshot of a grandchild inherits through three levels"
snapshot pool 106 105 b1s
cp /tmp/b1.map /tmp/b1s.map
vol_activate pool 106 b1s $sz
pat_verify /dev/mapper/b1s --map /tmp/b1s.map
log "snapshot-tree ok"
