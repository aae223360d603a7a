using System.Runtime.InteropServices;

namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// Ranks as threads of one process: the fast path for unit tests of code written against ICommunicator. Each collective
/// posts every rank's data to a shared board, waits for all, reads, and waits again before the board is reused. When one
/// rank's body throws, the others' pending and later collectives throw too (no thread waits forever), and Run rethrows
/// the first failure.
/// </summary>
public static class InProcessGroup
{
    public static void Run(int size, Action<ICommunicator> body)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), $"A group needs at least one rank, not {size}.");
        using var board = new Board(size);
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try { body(new Member(board, rank)); }
            catch (Exception e)
            {
                failures[rank] = e;
                board.Fail();
            }
        }, 16 << 20) { Name = $"rank {rank}" }).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        var first = failures.FirstOrDefault(e => e is not null and not GroupFailedException)
            ?? failures.FirstOrDefault(e => e is not null);
        if (first is not null) throw new AggregateException($"Rank {Array.IndexOf(failures, first)} failed.", first);
    }

    /// <summary>Thrown in a rank whose partner failed, so that it stops instead of waiting for it.</summary>
    public sealed class GroupFailedException() : Exception("Another rank of the in-process group failed.");

    private sealed class Board(int size) : IDisposable
    {
        private readonly Barrier _barrier = new(size);
        private readonly CancellationTokenSource _failed = new();
        public readonly byte[]?[] Posts = new byte[]?[size];
        public int Size => size;

        public void Fail() => _failed.Cancel();

        public void Wait()
        {
            try { _barrier.SignalAndWait(_failed.Token); }
            catch (OperationCanceledException) { throw new GroupFailedException(); }
        }

        public void Dispose()
        {
            _barrier.Dispose();
            _failed.Dispose();
        }
    }

    private sealed class Member(Board board, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int Size => board.Size;

        public void AllReduceSum(Span<float> values) => Reduce(values);
        public void AllReduceSum(Span<double> values) => Reduce(values);

        private void Reduce<T>(Span<T> values) where T : unmanaged, System.Numerics.IAdditionOperators<T, T, T>
        {
            var bytes = MemoryMarshal.AsBytes(values);
            var counts = Enumerable.Repeat(bytes.Length, Size).ToArray();
            var all = new byte[bytes.Length * Size];
            AllGather(bytes, all, counts);
            RankOrderSum.Sum<T>(MemoryMarshal.Cast<byte, T>(all), values);
        }

        public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all, ReadOnlySpan<int> byteCounts)
        {
            if (byteCounts.Length != Size || byteCounts[rank] != mine.Length)
                throw new ArgumentException($"AllGather: byteCounts must list {Size} ranks and give rank {rank} {mine.Length} bytes.");
            board.Posts[rank] = mine.ToArray();
            board.Wait();
            var offset = 0;
            for (var r = 0; r < Size; r++)
            {
                var post = board.Posts[r]!;
                if (post.Length != byteCounts[r])
                    throw new InvalidOperationException($"AllGather: rank {r} sent {post.Length} bytes, {byteCounts[r]} expected.");
                post.CopyTo(all[offset..]);
                offset += post.Length;
            }
            board.Wait();
        }

        public void Broadcast(Span<byte> data, int root)
        {
            if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast root {root} in a group of {Size}.");
            if (rank == root) board.Posts[rank] = data.ToArray();
            board.Wait();
            var post = board.Posts[root]!;
            if (post.Length != data.Length)
                throw new InvalidOperationException($"Broadcast: root sent {post.Length} bytes, rank {rank} expects {data.Length}.");
            if (rank != root) post.CopyTo(data);
            board.Wait();
        }

        public void Barrier() => board.Wait();
        public void Dispose() { }
    }
}
