"""The documents log's Merkle tree: the 196 proof vectors of transparency-dev/merkle, proofs
and roots generated from complete subtrees against RFC 9162's recursive definitions, and
tampered proofs refused."""

from __future__ import annotations

import base64
import json
from hashlib import sha256
from pathlib import Path

import pytest

from tamis.documents.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    complete_subtrees_on_append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "data" / "merkle"


def vectors(kind: str) -> list:
    if not VECTORS.is_dir():
        skip = pytest.mark.skip(reason=f"no Merkle vectors at {VECTORS}")
        return [pytest.param(None, marks=skip)]
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(f, id=str(f.relative_to(VECTORS).with_suffix(""))) for f in files]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_all_196_vectors_are_there():
    if not VECTORS.is_dir():
        pytest.skip(f"no Merkle vectors at {VECTORS}")
    assert len(list(VECTORS.rglob("*.json"))) == 196


@pytest.mark.parametrize("path", vectors("inclusion"))
def test_inclusion_vector(path):
    v = json.loads(path.read_text())
    proof = [b64(h) for h in v["proof"] or []]
    args = (b64(v["leafHash"]), v["leafIdx"], v["treeSize"], proof, b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", vectors("consistency"))
def test_consistency_vector(path):
    v = json.loads(path.read_text())
    proof = [b64(h) for h in v["proof"] or []]
    args = (v["size1"], v["size2"], proof, b64(v["root1"]), b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, word for word, over the leaves' data.


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return sha256(b"\x00" + d[0]).digest()
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


DATA = [f"document {i}".encode() for i in range(70)]


@pytest.fixture(scope="module")
def tree():
    tree = MemoryTree()
    for d in DATA:
        tree.append(d)
    return tree


def test_roots_match_the_rfc_for_every_size(tree):
    assert tree.root(0) == EMPTY_ROOT == mth([])
    for n in range(1, len(DATA) + 1):
        assert tree.root(n) == mth(DATA[:n]), n


def test_inclusion_proofs_match_the_rfc_for_every_size_and_index(tree):
    for n in range(1, len(DATA) + 1):
        r = tree.root(n)
        for m in range(n):
            p = tree.inclusion_proof(m, n)
            assert p == path(m, DATA[:n]), (m, n)
            verify_inclusion(leaf_hash(DATA[m]), m, n, p, r)


def test_consistency_proofs_match_the_rfc_for_every_pair_of_sizes(tree):
    for n in range(1, len(DATA) + 1):
        r2 = tree.root(n)
        for m in range(1, n + 1):
            p = tree.consistency_proof(m, n)
            assert p == proof(m, DATA[:n]), (m, n)
            verify_consistency(m, n, p, tree.root(m), r2)


def test_the_tree_stores_each_complete_subtree(tree):
    for (level, index), h in tree.nodes.items():
        assert h == mth(DATA[index << level : (index + 1) << level])
    assert (6, 0) in tree.nodes and (6, 1) not in tree.nodes  # 70 leaves: 64 + 4 + 2


def test_appending_completes_the_subtrees_the_leaf_closes(tree):
    completed = complete_subtrees_on_append(63, leaf_hash(DATA[63]), tree.subtree)
    assert [(level, index) for level, index, _ in completed] == [(i, 63 >> i) for i in range(7)]
    assert completed[-1][2] == tree.root(64)
    assert len(complete_subtrees_on_append(64, leaf_hash(DATA[64]), tree.subtree)) == 1


def test_a_billion_leaves_need_a_few_dozen_lookups():
    size = 1_000_000_007
    lookups = []

    def subtree(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size, "only complete subtrees exist"
        lookups.append((level, index))
        return sha256(f"{level}/{index}".encode()).digest()

    for ask in (
        lambda: root(size, subtree),
        lambda: inclusion_proof(0, size, subtree),
        lambda: inclusion_proof(size - 1, size, subtree),
        lambda: inclusion_proof(123_456_789, size, subtree),
        lambda: consistency_proof(999_999_999, size, subtree),
        lambda: consistency_proof(123_456_789, size, subtree),
    ):
        lookups.clear()
        ask()
        assert len(lookups) <= 2 * size.bit_length(), len(lookups)


def test_generation_refuses_impossible_sizes(tree):
    with pytest.raises(ValueError):
        inclusion_proof(5, 5, tree.subtree)
    with pytest.raises(ValueError):
        consistency_proof(6, 5, tree.subtree)
    with pytest.raises(ValueError):
        tree.root(71)
    assert consistency_proof(0, 5, tree.subtree) == consistency_proof(5, 5, tree.subtree) == []


# Tampering


def test_an_interior_node_presented_as_a_leaf_fails(tree):
    left, right = tree.subtree(0, 0), tree.subtree(0, 1)
    r = tree.root(8)
    proof_of_node = tree.inclusion_proof(0, 8)[1:]  # the path above the node (1, 0)
    # Without the leaf/node prefixes, the data left || right would hash to the node.
    for index, size, p in ((0, 4, proof_of_node), (0, 8, tree.inclusion_proof(0, 8))):
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(left + right), index, size, p, r)
    assert node_hash(left, right) == tree.subtree(1, 0)


@pytest.mark.parametrize(("index", "size"), [(0, 8), (5, 8), (6, 7), (12, 13), (69, 70)])
def test_an_inclusion_proof_with_an_extra_or_a_missing_hash_fails(tree, index, size):
    p, r, h = tree.inclusion_proof(index, size), tree.root(size), leaf_hash(DATA[index])
    verify_inclusion(h, index, size, p, r)
    for forged in (p + [r], [r] + p, p[:-1], p[1:], p[:1] + p[2:]):
        with pytest.raises(ProofError):
            verify_inclusion(h, index, size, forged, r)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[index] + b"!"), index, size, p, r)


@pytest.mark.parametrize(("size1", "size2"), [(1, 2), (4, 8), (5, 8), (6, 7), (13, 70), (64, 70)])
def test_a_consistency_proof_with_an_extra_or_a_missing_hash_fails(tree, size1, size2):
    p, r1, r2 = tree.consistency_proof(size1, size2), tree.root(size1), tree.root(size2)
    verify_consistency(size1, size2, p, r1, r2)
    for forged in (p + [r2], [r1] + p, p[:-1], p[1:]):
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, forged, r1, r2)


def forged_tree(data: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for d in data:
        tree.append(d)
    return tree


@pytest.mark.parametrize("size1", [3, 4, 5, 8, 13])
def test_a_log_that_dropped_or_reordered_an_entry_cannot_prove_consistency(tree, size1):
    dropped = DATA[:2] + DATA[3:20]  # entry 2 gone
    reordered = [DATA[1], DATA[0], *DATA[2:19]]  # entries 0 and 1 swapped
    for data in (dropped, reordered):
        forged = forged_tree(data)
        for size2 in (size1 + 1, len(data)):
            with pytest.raises(ProofError):
                verify_consistency(
                    size1,
                    size2,
                    forged.consistency_proof(size1, size2),
                    tree.root(size1),
                    forged.root(size2),
                )
