#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Edit one mapping btree leaf of a dm-cowtree metadata image (host tests).

  btree-leaf.py IMAGE list
      one line per mapping leaf: block first-key last-key entries
  btree-leaf.py IMAGE append BLOCK KEY VALUE
      append the entry (KEY, VALUE) to the leaf in BLOCK, as a leaf written
      back in the middle of a split would hold it (issue #20), and
      re-checksum the block with the pool's seed, so only the btree's key
      order is wrong
  btree-leaf.py IMAGE value BLOCK KEY
      print the raw 64-bit value stored for KEY in the leaf in BLOCK

The layout is Documentation/admin-guide/device-mapper/cowtree-format.rst.
"""
import struct
import sys

BS = 4096
NODE_MAGIC = 0x444e5743  # "CWND"
SALT_NODE = 0x6b4d0f12
LEAF, TREE_MAPPING = 2, 1
INCOMPAT_UUID_CSUM = 1


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = _table()


def crc32c(seed, data):
    """The kernel's crc32c(seed, p, len): no inversion on either side."""
    c = seed
    for b in data:
        c = TABLE[(c ^ b) & 0xff] ^ (c >> 8)
    return c


def pool_seed(img):
    incompat = struct.unpack_from('<Q', img, 56)[0]
    uuid = img[64:80]
    if not incompat & INCOMPAT_UUID_CSUM:
        return 0xffffffff
    return crc32c(0xffffffff, uuid)


def leaf(img, b):
    off = b * BS
    typ, = struct.unpack_from('<I', img, off + 4)
    flags, nr, mx, vs, tree = struct.unpack_from('<IIIII', img, off + 24)
    if typ != NODE_MAGIC or flags != LEAF or tree != TREE_MAPPING or vs != 8:
        return None
    keys = list(struct.unpack_from('<%dQ' % nr, img, off + 48))
    vals = list(struct.unpack_from('<%dQ' % nr, img, off + 48 + 8 * mx))
    return nr, mx, keys, vals


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    img = bytearray(open(path, 'rb').read())
    if cmd == 'list':
        for b in range(1, len(img) // BS):
            lf = leaf(img, b)
            if lf and lf[0]:
                print(b, lf[2][0], lf[2][-1], lf[0])
        return 0
    b = int(sys.argv[3])
    lf = leaf(img, b)
    if not lf:
        sys.exit('block %d is not a mapping leaf' % b)
    nr, mx, keys, vals = lf
    if cmd == 'value':
        print(vals[keys.index(int(sys.argv[4]))])
        return 0
    if cmd != 'append' or nr == mx:
        sys.exit('cannot %s to block %d' % (cmd, b))
    off = b * BS
    struct.pack_into('<Q', img, off + 48 + 8 * nr, int(sys.argv[4]))
    struct.pack_into('<Q', img, off + 48 + 8 * mx + 8 * nr, int(sys.argv[5]))
    struct.pack_into('<I', img, off + 28, nr + 1)
    csum = crc32c(pool_seed(img), bytes(img[off + 4:off + BS])) ^ SALT_NODE
    struct.pack_into('<I', img, off, csum)
    open(path, 'wb').write(img)
    return 0


if __name__ == '__main__':
    sys.exit(main())
