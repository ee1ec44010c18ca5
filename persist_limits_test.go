package peerscore_test

// Whatever Save writes, Load accepts: the size, peer, topic and address
// limits of a saved state, and oversized input refused unread. The limits
// are lowered through an unexported hook (WithStateLimitsForTest) so that
// the tests reach them cheaply; persist_reallimit_test.go checks the real
// 64 MiB. Helpers here start with "limits".

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// limitsBad connects p, charges it penalty (P7) and an invalid message in
// topic U (a topic entry in the file), and disconnects it.
func limitsBad(s *peerscore.Scorer, p peer.ID, penalty int) {
	s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
	s.AddPenalty(p, penalty)
	scoretest.RejectN(s, "U", "u-"+string(p), p, 1)
	s.Tracer().OnClosedOutboundStream(p)
}

// TestPersistSaveKeepsWorstWithinLimit retains 120 peers whose state is
// far over a size limit of 8 KiB: Save must write no more than the limit,
// keeping the most negative peers and logging how many it left out, and
// Load, under the same limit, must accept it.
func TestPersistSaveKeepsWorstWithinLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 8 << 10
		params := scoretest.StateParams(time.Hour, nil)
		lim := peerscore.WithStateLimitsForTest(limit, 0, 0, 0)
		s, log := scoretest.NewLogged(t, params, lim)
		const n = 120
		for i := range n {
			limitsBad(s, peer.ID(fmt.Sprintf("peer-%03d", i)), 1+(i*37)%n) // scores in shuffled order
		}
		before := s.Snapshots()
		require.Len(t, before, n)

		data := scoretest.Save(t, s)
		require.LessOrEqual(t, len(data), limit)
		require.Greater(t, len(data), limit-200, "the limit is used, not just respected (a peer takes about 150 bytes)")
		warn := log.Find(slog.LevelWarn, "left out")
		require.Len(t, warn, 1)

		restored, _ := scoretest.NewLogged(t, params, lim)
		require.NoError(t, restored.Load(bytes.NewReader(data)))
		kept := restored.Snapshots()
		require.Positive(t, len(kept))
		require.Equal(t, int64(len(kept)), warn[0]["saved"].Int64())
		require.Equal(t, int64(n-len(kept)), warn[0]["left_out"].Int64())
		worstLeftOut := 0.0
		for p, snap := range before {
			if _, ok := kept[p]; !ok {
				worstLeftOut = min(worstLeftOut, snap.Score)
			}
		}
		for p, snap := range kept {
			require.Equalf(t, before[p].Score, snap.Score, "%s restored as it was", p)
			require.LessOrEqualf(t, snap.Score, worstLeftOut, "%s (%v) saved, a worse peer left out", p, snap.Score)
		}

		// Without the limit reached, nothing is left out or logged.
		small, smallLog := scoretest.NewLogged(t, params, lim)
		limitsBad(small, "only", 3)
		restored, _ = scoretest.NewLogged(t, params, lim)
		require.NoError(t, restored.Load(bytes.NewReader(scoretest.Save(t, small))))
		require.Len(t, restored.Snapshots(), 1)
		require.Empty(t, smallLog.Find(slog.LevelWarn, ""))
	})
}

// TestPersistSaveWithinPeerTopicAndAddressLimits lowers the limits on
// peers (5), topics per peer (1) and addresses per peer (2): Save keeps the
// five most negative peers, each peer's most negative topic and its first
// two addresses, and Load accepts what it wrote.
func TestPersistSaveWithinPeerTopicAndAddressLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		lim := peerscore.WithStateLimitsForTest(0, 5, 1, 2)
		s, log := scoretest.NewLogged(t, params, lim)
		for i := range 12 {
			limitsBad(s, peer.ID(fmt.Sprintf("p%02d", i)), 1+i) // p11 is the worst
		}
		// The worst: -400 from P7, -18 in T (3 invalid), -1 in U, four
		// addresses.
		s.Tracer().OnNewOutboundStream("multi", "/meshsub/1.1.0")
		addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
		peerscore.SetIPsForTest(s, "multi", addrs)
		s.AddPenalty("multi", 20)
		scoretest.RejectN(s, "T", "t", "multi", 3)
		scoretest.RejectN(s, "U", "u", "multi", 1)
		s.Tracer().OnClosedOutboundStream("multi")

		restored, _ := scoretest.NewLogged(t, params, lim)
		require.NoError(t, restored.Load(bytes.NewReader(scoretest.Save(t, s))))
		require.ElementsMatch(t, []string{"multi", "p11", "p10", "p09", "p08"}, scoretest.Known(restored))
		multi := scoretest.Snap(t, restored, "multi")
		require.Equal(t, addrs[:2], multi.IPs)
		require.Len(t, multi.Topics, 1)
		require.Equal(t, 3.0, multi.Topics["T"].InvalidMessageDeliveries)
		require.Equal(t, int64(8), log.Find(slog.LevelWarn, "left out")[0]["left_out"].Int64())
	})
}

// TestPersistSaveSkipsWhatLoadRefuses: a peer ID too long for Load and
// topics whose names are not valid UTF-8 (two of them would both become
// U+FFFD in JSON, "a topic listed twice") are left out of the state, and
// the rest of it loads.
func TestPersistSaveSkipsWhatLoadRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		for _, name := range []string{"\xff", "\xfe"} {
			params.Topics[name] = &peerscore.TopicParams{
				SkipAtomicValidation: true, TopicWeight: 1,
				InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
			}
		}
		s, log := scoretest.NewLogged(t, params)
		s.Tracer().OnNewOutboundStream("bad", "/meshsub/1.1.0")
		for _, topic := range []string{"\xff", "\xfe", "T"} {
			scoretest.RejectN(s, topic, "m"+topic, "bad", 1)
		}
		s.Tracer().OnClosedOutboundStream("bad")
		long := peer.ID(strings.Repeat("\xff", 200)) // 271 base58 characters
		require.Greater(t, len(long.String()), 256)
		limitsBad(s, long, 1)
		limitsBad(s, "short", 1)

		restored, _ := scoretest.NewLogged(t, params)
		require.NoError(t, restored.Load(bytes.NewReader(scoretest.Save(t, s))))
		require.ElementsMatch(t, []string{"bad", "short"}, scoretest.Known(restored))
		bad := scoretest.Snap(t, restored, "bad")
		require.Len(t, bad.Topics, 1)
		require.Equal(t, 1.0, bad.Topics["T"].InvalidMessageDeliveries)
		require.Equal(t, int64(1), log.Find(slog.LevelWarn, "left out")[0]["left_out"].Int64())
	})
}

// limitsReader serves an endless state-like input and fails the test if
// read past max bytes.
type limitsReader struct {
	t    testing.TB
	max  int
	read int
}

func (r *limitsReader) Read(p []byte) (int, error) {
	if r.read+len(p) > r.max {
		p = p[:max(r.max-r.read, 1)]
	}
	for i := range p {
		p[i] = "peerscore-state v1\n"[(r.read+i)%19]
	}
	r.read += len(p)
	if r.read > r.max {
		r.t.Errorf("read %d bytes, more than %d", r.read, r.max)
		return len(p), io.ErrUnexpectedEOF
	}
	return len(p), nil
}

// TestPersistOversizedRefusedUnread: Load reads no more than the limit and
// one byte of an endless input, and LoadFile refuses a file over
// MaxStateSize by its size, before reading it (which would allocate its 64
// MiB), and moves it aside.
func TestPersistOversizedRefusedUnread(t *testing.T) {
	const limit = 4 << 10
	params := scoretest.StateParams(time.Hour, nil)
	s, _ := scoretest.NewLogged(t, params, peerscore.WithStateLimitsForTest(limit, 0, 0, 0))
	r := &limitsReader{t: t, max: limit + 1}
	err := s.Load(r)
	require.ErrorIs(t, err, peerscore.ErrInvalidState)
	require.Contains(t, err.Error(), "larger than")
	require.Equal(t, limit+1, r.read)

	dir := t.TempDir()
	path := filepath.Join(dir, "scores")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = f.WriteString("peerscore-state v1\n")
	require.NoError(t, err)
	require.NoError(t, f.Truncate(peerscore.MaxStateSizeForTest+1)) // sparse: costs no disk
	require.NoError(t, f.Close())

	s, log := scoretest.NewLogged(t, params)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err = s.LoadFile(path)
	runtime.ReadMemStats(&m1)
	require.ErrorIs(t, err, peerscore.ErrInvalidState)
	require.Contains(t, err.Error(), "larger than")
	require.Less(t, m1.TotalAlloc-m0.TotalAlloc, uint64(1<<20), "LoadFile read the oversized file")
	require.Len(t, log.Find(slog.LevelError, "invalid"), 1)
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "moved aside")
}
