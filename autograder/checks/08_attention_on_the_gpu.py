# Hidden checks for chapter 8. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. Sizes stay tiny: the
# Triton checks run in Triton's CPU interpreter (TRITON_INTERPRET=1) when there is no CUDA GPU.

# %% setup
import os

import torch

if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"  # must be set before the chapter's setup imports triton


def _randn(seed, *shape, dtype=torch.float32, scale=1.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _with_masked(scores, positions):
    """A copy of scores with -inf at the given (row, column) positions."""
    scores = scores.clone()
    for row, column in positions:
        scores[row, column] = float("-inf")
    return scores


def _attention_state(q, k, v, causal=False):
    """O and the per-row log-sum-exp of the scaled, masked scores: what the forward pass keeps."""
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if causal:
        scores = scores.masked_fill(~torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v, torch.logsumexp(scores, dim=-1)


def _backward_inputs(seed, lead, n, m, d_k, d_v, causal=False, dtype=torch.float64, scale=1.0):
    """q, k, v, out, lse, d_out for blockwise_backward."""
    q = _randn(seed, *lead, n, d_k, dtype=dtype, scale=scale)
    k, v = _randn(seed + 1, *lead, m, d_k, dtype=dtype), _randn(seed + 2, *lead, m, d_v, dtype=dtype)
    return (q, k, v, *_attention_state(q, k, v, causal), _randn(seed + 3, *lead, n, d_v, dtype=dtype))


def _holds_no_full_matrix(function, q, k, v, *rest):
    """True when no operation inside function returned as many numbers as the (..., n, m) matrices."""
    from attn.flash import largest_intermediate

    return largest_intermediate(function, q, k, v, *rest) < q[..., 0, 0].numel() * q.shape[-2] * k.shape[-2]


def _triton(function, *args):
    """Run the Triton exercise on the device Triton uses here, or say plainly why it cannot run."""
    try:
        import triton  # noqa: F401
    except ImportError:
        raise RuntimeError("Triton is not installed on this grading machine (it is built for Linux x86-64 "
                           "only), so this exercise cannot be graded here") from None
    if torch.cuda.is_available():
        args = [arg.cuda() if isinstance(arg, torch.Tensor) else arg for arg in args]
    else:
        os.environ["TRITON_INTERPRET"] = "1"  # read at each launch; a kernel restored between exercises may lack it
    return function(*args).cpu()


# %% 08.online_softmax | 3 rows of 10 scores in blocks of 4 (10 is no multiple of 4), float64
_check(online_softmax, _randn(801, 3, 10, dtype=torch.float64, scale=2.0), 4)

# %% 08.online_softmax | float32 scores near 1000 in blocks of 3
_check(online_softmax, 1000.0 + _randn(802, 2, 7, scale=5.0), 3)

# %% 08.online_softmax | the largest score in the last block, blocks of 2
_check(online_softmax, torch.tensor([[-1.0, 0.0, 1.0, 2.0, 3.0, 9.0]], dtype=torch.float64), 2)

# %% 08.online_softmax | masked scores (-inf), a fully masked first block
_check(online_softmax, _with_masked(_randn(803, 2, 9, dtype=torch.float64), [(0, 0), (0, 1), (0, 2), (1, 4)]), 3)

# %% 08.online_softmax | a row where every score is masked gets zeros
_check(online_softmax, _with_masked(_randn(804, 2, 5), [(1, c) for c in range(5)]), 2)

# %% 08.online_softmax | block size 1, and a block larger than the row, batch (2, 3)
_check(lambda s: (online_softmax(s, 1), online_softmax(s, 50)), _randn(805, 2, 3, 6, dtype=torch.float64))

# %% 08.blockwise_attention | n=7, m=11 keys in blocks of 4, d_k=5, d_v=3, float64
_check(blockwise_attention, _randn(811, 7, 5, dtype=torch.float64), _randn(812, 11, 5, dtype=torch.float64),
       _randn(813, 11, 3, dtype=torch.float64), 4)

# %% 08.blockwise_attention | causal, n=m=10 in blocks of 3, batch (2, 3), float64
_check(blockwise_attention, _randn(814, 2, 3, 10, 4, dtype=torch.float64),
       _randn(815, 2, 3, 10, 4, dtype=torch.float64), _randn(816, 2, 3, 10, 6, dtype=torch.float64), 3, True)

# %% 08.blockwise_attention | causal with fewer queries than keys (n=4, m=9), blocks of 2
_check(blockwise_attention, _randn(817, 4, 3, dtype=torch.float64), _randn(818, 9, 3, dtype=torch.float64),
       _randn(819, 9, 2, dtype=torch.float64), 2, True)

# %% 08.blockwise_attention | causal with more queries than keys (n=9, m=4), blocks of 3
_check(blockwise_attention, _randn(820, 9, 3, dtype=torch.float64), _randn(821, 4, 3, dtype=torch.float64),
       _randn(822, 4, 5, dtype=torch.float64), 3, True)

# %% 08.blockwise_attention | float32 scores near 100 (large), blocks of 5
_check(blockwise_attention, _randn(823, 2, 6, 8, scale=12.0), _randn(824, 2, 13, 8, scale=3.0),
       _randn(825, 2, 13, 4), 5)

# %% 08.blockwise_attention | one block larger than m, and blocks of 1, float32
_check(lambda *args: (blockwise_attention(*args, 64), blockwise_attention(*args, 1, True)),
       _randn(826, 5, 4), _randn(827, 5, 4), _randn(828, 5, 4))

# %% 08.blockwise_backward | n=7, m=11 keys in blocks of 4, d_k=5, d_v=3, float64
_check(blockwise_backward, *_backward_inputs(851, (), 7, 11, 5, 3), 4)

# %% 08.blockwise_backward | causal, n=m=10 in blocks of 3, batch (2, 3), float64
_check(blockwise_backward, *_backward_inputs(855, (2, 3), 10, 10, 4, 6, causal=True), 3, True)

# %% 08.blockwise_backward | causal with more queries than keys (n=8, m=5), blocks of 2
_check(blockwise_backward, *_backward_inputs(859, (1,), 8, 5, 3, 2, causal=True), 2, True)

# %% 08.blockwise_backward | causal with fewer queries than keys (n=4, m=9), blocks of 4, float32
_check(blockwise_backward, *_backward_inputs(863, (2,), 4, 9, 4, 4, causal=True, dtype=torch.float32), 4, True)

# %% 08.blockwise_backward | large scores (queries times 12), blocks of 5, float64
_check(blockwise_backward, *_backward_inputs(867, (2,), 6, 13, 8, 4, scale=12.0), 5)

# %% 08.blockwise_backward | one block larger than m, and blocks of 1
_check(lambda *args: (blockwise_backward(*args, 64), blockwise_backward(*args, 1)),
       *_backward_inputs(871, (), 5, 6, 3, 3))

# %% 08.blockwise_backward | no operation returns a tensor as large as the n x m matrices (batch 3, n=m=24)
_check(_holds_no_full_matrix, blockwise_backward, *_backward_inputs(875, (3,), 24, 24, 4, 4, causal=True), 6, True)

# %% 08.triton_attention | batch 2, n=20 queries, m=37 keys (no multiples of 16), D=16
_check(_triton, triton_attention, _randn(831, 2, 20, 16), _randn(832, 2, 37, 16), _randn(833, 2, 37, 16))

# %% 08.triton_attention | causal, batch 3, n=m=40, D=32
_check(_triton, triton_attention, _randn(834, 3, 40, 32), _randn(835, 3, 40, 32), _randn(836, 3, 40, 32), True)

# %% 08.triton_attention | causal with more queries than keys (n=24, m=9), D=16
_check(_triton, triton_attention, _randn(837, 1, 24, 16), _randn(838, 1, 9, 16), _randn(839, 1, 9, 16), True)

# %% 08.triton_attention | large scores (queries times 20), n=m=33, D=16
_check(_triton, triton_attention, _randn(840, 2, 33, 16, scale=20.0), _randn(841, 2, 33, 16),
       _randn(842, 2, 33, 16))
