"""The Merkle tree of a transparency log, hashed as RFC 9162 §2.1 (the same as RFC 6962).

Proofs are verified with the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
(consistency), and generated from the hashes of *complete subtrees*: ``subtree(level, index)``
is the hash of the 2**level leaves starting at leaf ``index * 2**level`` (level 0: the leaf
hashes). Those never change once complete, so a log stores each one once, when it appends the
leaf that completes it (``complete_subtrees_on_append``), and any root or proof then needs
O(log n) lookups, whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()  # MTH({}): the root of the empty tree

Subtree = Callable[[int, int], bytes]
"""``subtree(level, index)``: the hash of the complete subtree of 2**level leaves from leaf
``index * 2**level``."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || data)."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says why."""


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is
    ``root``; raise ProofError otherwise."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf_hash)}")
    _check_hashes(proof)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof has more hashes than the tree has levels")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof has fewer hashes than the tree has levels")
    if r != root:
        raise ProofError("the inclusion proof leads to another root: the leaf is not in this tree")


def verify_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves and root ``root2`` extends the tree of ``size1``
    leaves and root ``root1`` (appends only); raise ProofError otherwise.

    ``size1`` 0 is refused: every tree extends the empty tree, so there is nothing to prove
    (a witness that has seen no checkpoint yet accepts the first one without a proof).
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"a tree of {size2} leaves cannot extend one of {size1}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    _check_hashes(proof)
    if size1 == size2:
        if proof:
            raise ProofError("trees of the same size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}: the log forked")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    if size1 & (size1 - 1) == 0:  # the old tree is a complete subtree: the proof omits it
        proof = [root1, *proof]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("the consistency proof has more hashes than the tree has levels")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof has fewer hashes than the tree has levels")
    if fr != root1:
        raise ProofError(f"the consistency proof does not lead to the old root at size {size1}")
    if sr != root2:
        raise ProofError(f"the consistency proof does not lead to the new root at size {size2}")


def _check_hashes(proof: list[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"hash {i} of the proof has {len(h)} bytes, not {HASH_SIZE}")


# --- generation from complete subtrees (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1) ---


def root(size: int, subtree: Subtree) -> bytes:
    """MTH(D[0:size]): the root of the first ``size`` leaves."""
    if size < 0:
        raise ValueError(f"a tree cannot have {size} leaves")
    return _hash(0, size, subtree) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[0:size]): the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    return _path(index, 0, size, subtree)


def consistency_proof(size1: int, size2: int, subtree: Subtree) -> list[bytes]:
    """PROOF(size1, D[0:size2]): proof that the tree of ``size2`` leaves extends the one of
    ``size1``. Empty when ``size1`` is 0 or ``size2`` (nothing to prove, as tlog-witness says
    for an old size of 0)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"a tree of {size2} leaves cannot extend one of {size1}")
    if size1 in (0, size2):
        return []
    return _subproof(size1, 0, size2, True, subtree)


def complete_subtrees_on_append(
    size_before: int, new_leaf: bytes, subtree: Subtree
) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) subtrees completed by appending the leaf whose *hash* is
    ``new_leaf`` (``leaf_hash(data)``) as leaf ``size_before``: the leaf itself at level 0, then
    each ancestor whose last leaf it is. ``subtree`` is read for their left halves, all
    complete before the append."""
    level, index, h = 0, size_before, new_leaf
    completed = [(level, index, h)]
    while index & 1:
        h = node_hash(subtree(level, index - 1), h)
        level, index = level + 1, index >> 1
        completed.append((level, index, h))
    return completed


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


# Below, [begin, end) is always a node of the tree (begin is a multiple of the largest power
# of two not smaller than end - begin), so a range of 2**level leaves is a complete subtree.


def _hash(begin: int, end: int, subtree: Subtree) -> bytes:
    """MTH(D[begin:end])."""
    n = end - begin
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return subtree(level, begin >> level)
    k = _split(n)
    return node_hash(_hash(begin, begin + k, subtree), _hash(begin + k, end, subtree))


def _path(m: int, begin: int, end: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[begin:end])."""
    n = end - begin
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, begin, begin + k, subtree), _hash(begin + k, end, subtree)]
    return [*_path(m - k, begin + k, end, subtree), _hash(begin, begin + k, subtree)]


def _subproof(m: int, begin: int, end: int, whole: bool, subtree: Subtree) -> list[bytes]:
    """SUBPROOF(m, D[begin:end], whole): ``whole`` says D[begin:begin+m] is the old tree itself,
    whose root the verifier has, rather than one of its subtrees."""
    n = end - begin
    if m == n:
        return [] if whole else [_hash(begin, end, subtree)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, begin, begin + k, whole, subtree), _hash(begin + k, end, subtree)]
    return [*_subproof(m - k, begin + k, end, False, subtree), _hash(begin, begin + k, subtree)]


class MemoryTree:
    """A log held in memory: its leaf hashes and the hashes of its complete subtrees."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []
        self.nodes: dict[tuple[int, int], bytes] = {}  # (level, index) -> hash, level >= 1

    @property
    def size(self) -> int:
        return len(self.leaves)

    def append(self, data: bytes) -> int:
        """Append a leaf of ``data``; return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, new_leaf: bytes) -> int:
        """Append a leaf by its hash; return its index."""
        for level, index, h in complete_subtrees_on_append(self.size, new_leaf, self.subtree):
            if level == 0:
                self.leaves.append(h)
            else:
                self.nodes[level, index] = h
        return self.size - 1

    def subtree(self, level: int, index: int) -> bytes:
        return self.leaves[index] if level == 0 else self.nodes[level, index]

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else self._within(size), self.subtree)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else self._within(size)
        return inclusion_proof(index, size, self.subtree)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        size2 = self.size if size2 is None else self._within(size2)
        return consistency_proof(size1, size2, self.subtree)

    def _within(self, size: int) -> int:
        if size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return size
