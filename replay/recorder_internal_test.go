package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// withBeforeBatch holds the writer up in fn before each batch.
func withBeforeBatch(fn func()) RecorderOption {
	return func(c *recorderConfig) error {
		c.beforeBatch = fn
		return nil
	}
}

// TestRecorderFullBuffer: with the writer stuck (a disk that does not
// answer), the router's calls still return at once: what fits in the
// buffer waits, the rest is dropped and counted; once the writer moves,
// what waited is written, in order.
func TestRecorderFullBuffer(t *testing.T) {
	dir := t.TempDir()
	const fits = 10
	synctest.Test(t, func(t *testing.T) {
		stuck := make(chan struct{})
		held := false
		r, err := NewRecorder(dir, peer.ID("self"), WithManualStart(),
			WithBufferSize(fits*itemBase),
			withBeforeBatch(func() {
				if !held {
					held = true
					<-stuck
				}
			}))
		require.NoError(t, err)
		defer r.Close()
		defer close(stuck) // first: a failure must not leave the writer stuck
		for i := range 100 {
			r.Join(fmt.Sprintf("topic-%02d", i)) // would deadlock the bubble if it waited
		}
		synctest.Wait()
		st := r.Stats()
		require.Equal(t, uint64(100-fits), st.Dropped)
		require.Zero(t, st.Events)
		stuck <- struct{}{}
		synctest.Wait()
		r.Join("after") // room again
		require.NoError(t, r.Close())
		st = r.Stats()
		require.Equal(t, uint64(fits+1), st.Events)
		require.Equal(t, uint64(100-fits), st.Dropped)
	})
	src, err := Open(dir)
	require.NoError(t, err)
	defer src.Close()
	var topics []string
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		topics = append(topics, ev.Trace.GetJoin().GetTopic())
	}
	var want []string
	for i := range fits {
		want = append(want, fmt.Sprintf("topic-%02d", i))
	}
	require.Equal(t, append(want, "after"), topics)
}

// TestAppendExtra: the writer's JSON for an extra reads back, with
// encoding/json, as what encoding/json's own encoding of it reads back
// as: every field, escapes, invalid UTF-8 and extreme numbers included.
func TestAppendExtra(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		alphabet := []string{"a", "Z", "9", "/", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x7f", "é", "\xff", "\u2028", " "}
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	num := func() float64 {
		return []float64{0, -0.0, 1, -2.5, 1e-300, 1e300, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, rng.NormFloat64() * 1e6}[rng.IntN(10)]
	}
	for i := range 2000 {
		x := Extra{Kind: ExtraKind(str()), At: rng.Int64() - rng.Int64(), Seq: rng.Uint64(), Peer: str(), Topic: str(), Self: str(),
			Score: num(), Took: time.Duration(rng.Int64() - rng.Int64())}
		for range rng.IntN(3) {
			x.IPs = append(x.IPs, str())
			x.Backoffs = append(x.Backoffs, rng.Uint64())
			x.ID = append(x.ID, byte(rng.IntN(256)), byte(rng.IntN(256)))
		}
		if rng.IntN(3) == 0 {
			x.Scores = map[string]float64{}
			for range rng.IntN(4) {
				x.Scores[str()] = num()
			}
		}
		line := appendExtra(nil, &x)
		require.True(t, bytes.HasSuffix(line, []byte("}\n")), "case %d: one line", i)
		require.Equal(t, 1, bytes.Count(line, []byte("\n")), "case %d: one line", i)
		var got, want Extra
		require.NoError(t, json.Unmarshal(line, &got), "case %d: %s", i, line)
		std, err := json.Marshal(x)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(std, &want))
		require.Equal(t, want, got, "case %d: %s", i, line)
	}
}
